#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <thread>
#include <vector>

#include "common/fs.h"
#include "daemon/http_server.h"

using namespace berth;
using namespace berth::daemon;

namespace {

// Runs serve_connection on one end of a socketpair; the test talks HTTP on
// the other end.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/_ping", [](Request& req, Response& res) -> Status {
      return res.send(200, req.method == "HEAD" ? "" : "OK", "text/plain; charset=utf-8",
                      {{"Cache-Control", "no-cache, no-store, must-revalidate"}, {"Pragma", "no-cache"}});
    });
    router_.add("POST", "/echo", [](Request& req, Response& res) -> Status {
      Json j = BERTH_TRY(req.json_body());
      return res.json(200, Json{{"got", j}});
    });
    router_.add("POST", "/typed", [](Request& req, Response& res) -> Status {
      Json j = BERTH_TRY(req.json_body());
      int v = j.at("n").get<int>();  // throws on a wrong type
      return res.json(200, Json{{"n", v}});
    });
    router_.add("GET", "/images/json", [](Request&, Response& res) -> Status {
      return res.json(200, Json{{"route", "list"}});
    });
    router_.add("GET", "/images/{name*}/json", [](Request& req, Response& res) -> Status {
      return res.json(200, Json{{"name", req.param("name")}});
    });
    router_.add("POST", "/attach", [](Request& req, Response& res) -> Status {
      const std::string* up = req.head.header("Upgrade");
      BERTH_TRY_VOID(res.hijack(up != nullptr, "application/vnd.docker.raw-stream"));
      std::string buffered = req.conn->take_buffered();
      BERTH_TRY_VOID(req.conn->write("raw:" + buffered));
      return ok();
    });
    router_.add("GET", "/stream", [](Request&, Response& res) -> Status {
      BERTH_TRY_VOID(res.start_stream(200, "application/json"));
      BERTH_TRY_VOID(res.chunk("{\"a\":1}\n"));
      BERTH_TRY_VOID(res.chunk("{\"b\":2}\n"));
      return res.end_stream();
    });
    router_.add("GET", "/fail", [](Request&, Response&) -> Status {
      return make_error(Errc::conflict, "already there");
    });
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    client_.reset(sv[0]);
    thread_ = std::thread([this, fd = sv[1]] { serve_connection(UniqueFd(fd), router_, log_); });
  }
  void TearDown() override {
    client_.reset();
    thread_.join();
  }
  void send(std::string_view s) { ASSERT_TRUE(fs::write_all(client_.get(), s)); }
  // Reads one response: head + Content-Length body, or until EOF.
  std::string read_response() {
    std::string out;
    char c;
    while (out.find("\r\n\r\n") == std::string::npos) {
      if (::read(client_.get(), &c, 1) != 1) return out;
      out += c;
    }
    auto cl = out.find("Content-Length: ");
    if (cl != std::string::npos) {
      size_t n = std::stoul(out.substr(cl + 16));
      std::string body(n, '\0');
      size_t got = 0;
      while (got < n) {
        ssize_t r = ::read(client_.get(), body.data() + got, n - got);
        if (r <= 0) break;
        got += static_cast<size_t>(r);
      }
      out += body;
    }
    return out;
  }
  std::string read_all() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(client_.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  log::Logger log_{log::Level::error};
  Router router_;
  UniqueFd client_;
  std::thread thread_;
};

}  // namespace

TEST_F(ServerTest, PingHeaders) {
  send("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = read_response();
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(r.find("Api-Version: 1.41\r\n"), std::string::npos);
  EXPECT_NE(r.find("Ostype: linux\r\n"), std::string::npos);
  EXPECT_NE(r.find("Docker-Experimental: false\r\n"), std::string::npos);
  EXPECT_NE(r.find("Cache-Control: no-cache, no-store, must-revalidate\r\n"), std::string::npos);
  EXPECT_NE(r.find("Pragma: no-cache\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 6), "\r\n\r\nOK");
}

TEST_F(ServerTest, HeadHasNoBodyAndKeepsTheConnection) {
  send("HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /v1.41/_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string a = read_response();
  EXPECT_NE(a.find("Content-Length: 0\r\n"), std::string::npos);
  EXPECT_EQ(a.substr(a.size() - 4), "\r\n\r\n");
  std::string b = read_response();  // keep-alive: the second request is answered
  EXPECT_EQ(b.rfind("HTTP/1.1 200 OK", 0), 0u);
  EXPECT_EQ(b.substr(b.size() - 2), "OK");
}

TEST_F(ServerTest, UnknownPathIs404Json) {
  send("GET /v1.41/nope HTTP/1.1\r\n\r\n");
  std::string r = read_response();
  EXPECT_EQ(r.rfind("HTTP/1.1 404 Not Found", 0), 0u);
  EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos);
  EXPECT_NE(r.find("{\"message\":\"page not found\"}"), std::string::npos);
}

TEST_F(ServerTest, WrongMethodOnKnownPath) {
  send("DELETE /_ping HTTP/1.1\r\n\r\n");
  std::string r = read_response();
  EXPECT_EQ(r.rfind("HTTP/1.1 405", 0), 0u);
}

TEST_F(ServerTest, VersionRules) {
  send("GET /v1.50/_ping HTTP/1.1\r\n\r\nGET /v1.11/_ping HTTP/1.1\r\n\r\nGET /v1.12/_ping HTTP/1.1\r\n\r\n");
  std::string a = read_response(), b = read_response(), c = read_response();
  EXPECT_EQ(a.rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_NE(a.find("client version 1.50 is too new. Maximum supported API version is 1.41"), std::string::npos);
  EXPECT_EQ(b.rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_NE(b.find("is too old"), std::string::npos);
  EXPECT_EQ(c.rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(ServerTest, MalformedJsonIs400AndTheConnectionLives) {
  send("POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\n{bad");
  std::string a = read_response();
  EXPECT_EQ(a.rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_NE(a.find("invalid JSON"), std::string::npos);
  send("POST /typed HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"n\":\"x\"}\n");
  std::string b = read_response();
  EXPECT_EQ(b.rfind("HTTP/1.1 400", 0), 0u);
  send("GET /_ping HTTP/1.1\r\n\r\n");
  EXPECT_EQ(read_response().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(ServerTest, ChunkedRequestBody) {
  send("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n");
  std::string r = read_response();
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_NE(r.find("{\"got\":{\"a\":1}}"), std::string::npos);
}

TEST_F(ServerTest, UnreadBodyIsDrainedBeforeTheNextRequest) {
  send("POST /_ping HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /_ping HTTP/1.1\r\n\r\n");
  EXPECT_EQ(read_response().rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(read_response().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(ServerTest, ImageNamesWithSlashesAndLiteralRoutesFirst) {
  send("GET /v1.41/images/json HTTP/1.1\r\n\r\nGET /images/127.0.0.1:5000/a/b:v1/json HTTP/1.1\r\n\r\n");
  EXPECT_NE(read_response().find("{\"route\":\"list\"}"), std::string::npos);
  EXPECT_NE(read_response().find("{\"name\":\"127.0.0.1:5000/a/b:v1\"}"), std::string::npos);
}

TEST_F(ServerTest, ErrorsMapToStatusAndJson) {
  send("GET /fail HTTP/1.1\r\n\r\n");
  std::string r = read_response();
  EXPECT_EQ(r.rfind("HTTP/1.1 409 Conflict", 0), 0u);
  EXPECT_NE(r.find("{\"message\":\"already there\"}"), std::string::npos);
}

TEST_F(ServerTest, ChunkedResponse) {
  send("GET /stream HTTP/1.1\r\nConnection: close\r\n\r\n");
  std::string r = read_all();
  EXPECT_NE(r.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\n\r\n8\r\n{\"a\":1}\n\r\n8\r\n{\"b\":2}\n\r\n0\r\n\r\n"), std::string::npos);
}

TEST_F(ServerTest, HijackWithUpgrade) {
  send("POST /attach HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nstdin-bytes");
  std::string r = read_all();
  EXPECT_EQ(r.rfind("HTTP/1.1 101 UPGRADED\r\n", 0), 0u);
  EXPECT_NE(r.find("Content-Type: application/vnd.docker.raw-stream\r\n"), std::string::npos);
  EXPECT_NE(r.find("Connection: Upgrade\r\n"), std::string::npos);
  EXPECT_NE(r.find("Upgrade: tcp\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 15), "raw:stdin-bytes");
}

TEST_F(ServerTest, HijackWithoutUpgradeAnswers200) {
  send("POST /attach HTTP/1.1\r\n\r\n");
  std::string r = read_all();
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(r.substr(r.size() - 8), "\r\n\r\nraw:");
}

TEST(HttpStatus, OneTable) {
  EXPECT_EQ(http_status(Errc::invalid), 400);
  EXPECT_EQ(http_status(Errc::not_found), 404);
  EXPECT_EQ(http_status(Errc::conflict), 409);
  EXPECT_EQ(http_status(Errc::not_modified), 304);
  EXPECT_EQ(http_status(Errc::forbidden), 403);
  EXPECT_EQ(http_status(Errc::unavailable), 503);
  EXPECT_EQ(http_status(Errc::internal), 500);
}

TEST(Router, Matching) {
  Router r;
  int hit = 0;
  r.add("GET", "/containers/json", [&](Request&, Response&) -> Status { hit = 1; return ok(); });
  r.add("GET", "/containers/{id}/json", [&](Request&, Response&) -> Status { hit = 2; return ok(); });
  r.add("DELETE", "/images/{name*}", [&](Request&, Response&) -> Status { hit = 3; return ok(); });
  auto a = r.match("GET", "/containers/json");
  ASSERT_TRUE(a.handler);
  auto b = r.match("GET", "/containers/abc/json");
  ASSERT_TRUE(b.handler);
  EXPECT_EQ(b.params["id"], "abc");
  auto c = r.match("DELETE", "/images/reg:5000/x/y:1");
  ASSERT_TRUE(c.handler);
  EXPECT_EQ(c.params["name"], "reg:5000/x/y:1");
  auto d = r.match("POST", "/containers/json");
  EXPECT_FALSE(d.handler);
  EXPECT_TRUE(d.path_known);
  auto e = r.match("GET", "/nothing");
  EXPECT_FALSE(e.handler);
  EXPECT_FALSE(e.path_known);
  auto h = r.match("HEAD", "/containers/json");  // HEAD falls back to GET
  EXPECT_TRUE(h.handler);
  auto esc = r.match("GET", "/containers/a%2Fb/json");
  EXPECT_EQ(esc.params["id"], "a/b");
}

TEST(UnixServer, RefusesASocketAnotherDaemonAnswersAndReplacesAStaleOne) {
  char t[] = "/tmp/berth-srv-XXXXXX";
  std::string dir = ::mkdtemp(t);
  std::string sock = dir + "/s.sock";
  log::Logger log(log::Level::error);
  Router r;
  r.add("GET", "/_ping", [](Request&, Response& res) -> Status { return res.send(200, "OK", "text/plain"); });
  {
    Server a(r, log);
    ASSERT_TRUE(a.listen_unix(sock, ""));
    Server b(r, log);
    auto st = b.listen_unix(sock, "");
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().msg.find("another daemon"), std::string::npos);
  }
  // A stale socket file (nobody listening) is replaced.
  ASSERT_TRUE(fs::write_file_atomic(sock, "", fs::Durability::none));
  Server c(r, log);
  EXPECT_TRUE(c.listen_unix(sock, ""));
  (void)fs::remove_all(dir);
}

namespace {

std::string get_once(const std::string& sock, const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", sock.c_str());
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    (void)!::write(fd, req.data(), req.size());
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? "" : out.substr(body + 4);
}

}  // namespace

// A thread that finished a connection serves the next one (no new thread
// per connection); it still serves when several arrive at once.
TEST(UnixServer, ReusesAConnectionThreadForTheNextConnection) {
  char t[] = "/tmp/berth-srv-XXXXXX";
  std::string dir = ::mkdtemp(t);
  std::string sock = dir + "/s.sock";
  log::Logger log(log::Level::error);
  Router r;
  r.add("GET", "/tid", [](Request&, Response& res) -> Status {
    return res.send(200, std::to_string(::gettid()), "text/plain");
  });
  Server s(r, log);
  ASSERT_TRUE(s.listen_unix(sock, ""));
  std::thread loop([&] { s.serve(); });
  std::set<std::string> seen = {get_once(sock, "/tid")};
  ASSERT_FALSE(seen.begin()->empty());
  int reused = 0;
  for (int i = 0; i < 4; ++i) {
    // Time for the thread to finish the previous connection and wait (a
    // loaded machine may not give it that time every round).
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    reused += !seen.insert(get_once(sock, "/tid")).second;
  }
  EXPECT_GE(reused, 3) << seen.size() << " threads for 5 connections";
  std::vector<std::thread> many;
  std::vector<std::string> got(8);
  for (int i = 0; i < 8; ++i) many.emplace_back([&, i] { got[i] = get_once(sock, "/tid"); });
  for (auto& th : many) th.join();
  for (const auto& g : got) EXPECT_FALSE(g.empty());
  s.shutdown();
  loop.join();
  (void)fs::remove_all(dir);
}

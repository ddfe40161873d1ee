// The client against a scripted in-process HTTP server on a unix socket.
#include "client/client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

namespace berth::client {
namespace {

struct Seen {
  std::string method, target, body;
  std::vector<api::Header> headers;
};

// Handler: writes the response on fd; sets *close to end the connection.
using Handler = std::function<void(int fd, const Seen& req, bool* close)>;

void send_str(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

class FakeDaemon {
 public:
  explicit FakeDaemon(Handler h) : handler_(std::move(h)) {
    char tmpl[] = "/tmp/berth-client-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/d.sock";
    lfd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    EXPECT_EQ(::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(lfd_, 16), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDaemon() {
    ::shutdown(lfd_, SHUT_RDWR);
    ::close(lfd_);
    thread_.join();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string host() const { return "unix://" + path_; }
  int accepts() const { return accepts_; }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

 private:
  void serve() {
    std::vector<std::thread> conns;
    for (;;) {
      int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) break;
      ++accepts_;
      conns.emplace_back([this, fd] { connection(fd); });
    }
    for (auto& t : conns) t.join();
  }
  void connection(int fd) {
    std::string buf;
    char tmp[4096];
    for (;;) {
      api::HttpHead head;
      size_t used = 0;
      while ((used = api::parse_request_head(buf, &head).value_or(0)) == 0) {
        ssize_t n = ::read(fd, tmp, sizeof tmp);
        if (n <= 0) {
          ::close(fd);
          return;
        }
        buf.append(tmp, static_cast<size_t>(n));
      }
      buf.erase(0, used);
      Seen s{head.method, head.target, "", head.headers};
      if (const auto* te = head.header("Transfer-Encoding")) {
        (void)te;
        api::ChunkedDecoder d;
        for (;;) {
          size_t c = d.feed(buf, &s.body).value_or(0);
          buf.erase(0, c);
          if (d.done()) break;
          ssize_t n = ::read(fd, tmp, sizeof tmp);
          if (n <= 0) break;
          buf.append(tmp, static_cast<size_t>(n));
        }
      } else if (const auto* cl = head.header("Content-Length")) {
        size_t len = std::strtoul(cl->c_str(), nullptr, 10);
        while (buf.size() < len) {
          ssize_t n = ::read(fd, tmp, sizeof tmp);
          if (n <= 0) break;
          buf.append(tmp, static_cast<size_t>(n));
        }
        s.body = buf.substr(0, len);
        buf.erase(0, len);
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        seen_.push_back(s);
      }
      bool close = false;
      handler_(fd, s, &close);
      if (close) {
        ::close(fd);
        return;
      }
    }
  }

  Handler handler_;
  std::string dir_, path_;
  int lfd_ = -1;
  std::thread thread_;
  std::atomic<int> accepts_{0};
  std::mutex mu_;
  std::vector<Seen> seen_;
};

std::string ping_response(std::string_view version) {
  std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n";
  if (!version.empty()) r += "API-Version: " + std::string(version) + "\r\n";
  return r + "OSType: linux\r\n\r\n";
}

// A versioned target above `version` gets dockerd's refusal (400 before
// any handler runs), as dockerd's version middleware answers.
bool refuse_too_new(int fd, const Seen& req, std::string_view version) {
  if (version.empty() || req.target.rfind("/v", 0) != 0) return false;
  auto split = api::split_target(req.target);
  auto max = api::split_target("/v" + std::string(version) + "/x");
  if (!split || !split->version || !max || !(*split->version > *max->version)) return false;
  std::string body = "{\"message\":\"client version " + split->version->str() +
                     " is too new. Maximum supported API version is " + std::string(version) + "\"}\n";
  send_str(fd, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body);
  return true;
}

Handler simple(std::string version) {
  return [version](int fd, const Seen& req, bool*) {
    if (req.target == "/_ping") return send_str(fd, ping_response(version));
    if (refuse_too_new(fd, req, version)) return;
    if (req.target.find("/containers/nope/json") != std::string::npos)
      return send_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 43\r\n\r\n"
                          "{\"message\":\"No such container: nope\"}\n\n\n\n\n\n");
    if (req.target.find("/chunked") != std::string::npos)
      return send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[1,2,\r\n2\r\n3]\r\n0\r\n\r\n");
    send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]");
  };
}

Client make(const FakeDaemon& d) {
  Client::Options o;
  o.host = d.host();
  return std::move(Client::create(o).value());
}

TEST(ClientVersion, NoPingWhenTheDaemonSpeaksTheClientMaximum) {
  FakeDaemon d(simple("1.41"));
  Client c = make(d);
  ASSERT_TRUE(c.request(Request::get("/containers/json", {{"all", "1"}})));
  ASSERT_TRUE(c.request(Request::get("/images/json")));
  auto seen = d.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/v1.41/containers/json?all=1");
  EXPECT_EQ(seen[1].target, "/v1.41/images/json");
  // Accepted once: the version is fixed, streams do not ping either.
  EXPECT_EQ(c.version()->str(), "1.41");
  EXPECT_EQ(d.seen().size(), 2u);
}

TEST(ClientVersion, NoPingWithANewerDaemon) {
  FakeDaemon d(simple("1.50"));
  Client c = make(d);
  ASSERT_TRUE(c.request(Request::get("/info")));
  auto seen = d.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/v1.41/info");
}

TEST(ClientVersion, NegotiatesDownToServerWhenRefused) {
  FakeDaemon d(simple("1.40"));
  Client c = make(d);
  auto r = c.request(Request::get("/containers/json", {{"all", "1"}}));
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->body, "[]");
  auto seen = d.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].target, "/v1.41/containers/json?all=1");
  EXPECT_EQ(seen[1].method, "HEAD");
  EXPECT_EQ(seen[1].target, "/_ping");
  EXPECT_EQ(seen[2].target, "/v1.40/containers/json?all=1");
  ASSERT_TRUE(c.request(Request::get("/images/json")));
  EXPECT_EQ(d.seen().back().target, "/v1.40/images/json");
  EXPECT_EQ(d.seen().size(), 4u);
}

TEST(ClientVersion, OldDaemonsPlainTextRefusal) {
  // dockerd before 17.07 answered a newer client in plain text.
  FakeDaemon d([](int fd, const Seen& req, bool*) {
    if (req.target == "/_ping") return send_str(fd, ping_response("1.24"));
    if (req.target.rfind("/v1.41/", 0) == 0) {
      std::string b = "client is newer than server (client API version: 1.41, server API version: 1.24)\n";
      return send_str(fd, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: " +
                              std::to_string(b.size()) + "\r\n\r\n" + b);
    }
    send_str(fd, "HTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\n{\"Id\":\"x\"}");
  });
  Client c = make(d);
  auto r = c.request(Request::post("/containers/create", {}, "{}"));
  ASSERT_TRUE(r) << r.error().msg;
  auto seen = d.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].target, "/v1.24/containers/create");
  EXPECT_EQ(seen[2].body, "{}");
}

TEST(ClientVersion, OtherErrorsAreNotRetried) {
  FakeDaemon d([](int fd, const Seen& req, bool*) {
    if (req.target == "/_ping") return send_str(fd, ping_response("1.41"));
    std::string b = "{\"message\":\"invalid reference format\"}";
    send_str(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b);
  });
  Client c = make(d);
  auto r = c.request(Request::post("/containers/create"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().msg, "Error response from daemon: invalid reference format");
  EXPECT_EQ(d.seen().size(), 1u);
}

TEST(ClientVersion, CapsAtClientMaximum) {
  FakeDaemon d(simple("1.50"));
  Client c = make(d);
  EXPECT_EQ(c.version()->str(), "1.41");
}

TEST(ClientVersion, MissingHeaderMeans124) {
  FakeDaemon d(simple(""));
  Client c = make(d);
  EXPECT_EQ(c.version()->str(), "1.24");
}

TEST(ClientVersion, FallsBackToGetWhenHeadIsRefused) {
  FakeDaemon d([](int fd, const Seen& req, bool*) {
    if (req.target == "/_ping" && req.method == "HEAD")
      return send_str(fd, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    if (req.target == "/_ping") return send_str(fd, "HTTP/1.1 200 OK\r\nAPI-Version: 1.39\r\nContent-Length: 2\r\n\r\nOK");
    send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]");
  });
  Client c = make(d);
  EXPECT_EQ(c.version()->str(), "1.39");
  auto seen = d.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].method, "GET");
}

TEST(Client, ReusesOneConnectionForSequentialRequests) {
  FakeDaemon d(simple("1.41"));
  Client c = make(d);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.request(Request::get("/images/json")));
  EXPECT_EQ(d.accepts(), 1);
  EXPECT_EQ(d.seen().size(), 3u);
}

TEST(Client, RetriesWhenTheDaemonClosedAnIdleConnection) {
  FakeDaemon d([](int fd, const Seen& req, bool* close) {
    if (req.target == "/_ping") {
      send_str(fd, ping_response("1.41"));
      *close = true;  // drop the kept-alive connection after answering
      return;
    }
    send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
  });
  Client c = make(d);
  ASSERT_TRUE(c.version());
  ::usleep(20000);
  auto r = c.request(Request::get("/info"));
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->body, "{}");
  EXPECT_EQ(d.accepts(), 2);
}

TEST(Client, DecodesChunkedBodies) {
  FakeDaemon d(simple("1.41"));
  Client c = make(d);
  auto r = c.request(Request::get("/chunked"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "[1,2,3]");
}

TEST(Client, DaemonErrorsCarryKindAndDockerText) {
  FakeDaemon d(simple("1.41"));
  Client c = make(d);
  auto r = c.request(Request::get("/containers/nope/json"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::not_found);
  EXPECT_EQ(r.error().msg, "Error response from daemon: No such container: nope");
}

TEST(Client, CannotConnectMessage) {
  Client::Options o;
  o.host = "unix:///tmp/berth-client-test-nonexistent.sock";
  Client c = std::move(Client::create(o).value());
  auto r = c.request(Request::get("/info"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::unavailable);
  EXPECT_EQ(r.error().msg,
            "Cannot connect to the berth daemon at unix:///tmp/berth-client-test-nonexistent.sock. Is the berth "
            "daemon running?");
}

TEST(Client, HijackKeepsBytesThatCameWithTheHeadAndHalfCloses) {
  FakeDaemon d([](int fd, const Seen& req, bool* close) {
    if (req.target == "/_ping") return send_str(fd, ping_response("1.41"));
    // The upgrade answer and the first output in one write.
    send_str(fd, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                 "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello ");
    // Echo stdin until the client half-closes, then end the stream.
    char b[256];
    ssize_t n;
    while ((n = ::read(fd, b, sizeof b)) > 0) send_str(fd, std::string_view(b, static_cast<size_t>(n)));
    *close = true;
  });
  Client c = make(d);
  auto h = c.hijack(Request::post("/containers/x/attach", {{"stream", "1"}, {"stdin", "1"}}));
  ASSERT_TRUE(h) << h.error().msg;
  ASSERT_TRUE(h->write_all("world"));
  ASSERT_TRUE(h->close_write());
  std::string got;
  char b[64];
  for (;;) {
    auto n = h->read(b, sizeof b);
    ASSERT_TRUE(n);
    if (*n == 0) break;
    got.append(b, *n);
  }
  EXPECT_EQ(got, "hello world");
  auto seen = d.seen();
  ASSERT_EQ(seen.size(), 2u);
  bool upgrade = false;
  for (const auto& hd : seen[1].headers)
    if (hd.name == "Upgrade" && hd.value == "tcp") upgrade = true;
  EXPECT_TRUE(upgrade);
}

TEST(Client, UploadSendsAChunkedBody) {
  FakeDaemon d([](int fd, const Seen& req, bool*) {
    if (req.target == "/_ping") return send_str(fd, ping_response("1.41"));
    std::string msg = "{\"status\":\"got " + std::to_string(req.body.size()) + "\"}\n";
    send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + api::chunk(msg) + std::string(api::kLastChunk));
  });
  Client c = make(d);
  std::string payload(300000, 'z');
  char path[] = "/tmp/berth-client-upload-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, payload.data(), payload.size()), static_cast<ssize_t>(payload.size()));
  ::lseek(fd, 0, SEEK_SET);
  Request req = Request::post("/images/create", {{"fromSrc", "-"}});
  req.content_type = "application/x-tar";
  auto s = c.upload(req, fd);
  ::close(fd);
  ::unlink(path);
  ASSERT_TRUE(s) << s.error().msg;
  std::string line;
  ASSERT_TRUE(*s->next_json_line(&line));
  EXPECT_EQ(line, "{\"status\":\"got 300000\"}");
  EXPECT_FALSE(*s->next_json_line(&line));
}

TEST(Host, Parsing) {
  EXPECT_EQ(parse_host("unix:///run/berth/berth.sock")->path, "/run/berth/berth.sock");
  EXPECT_EQ(parse_host("")->url, "unix:///run/berth/berth.sock");
  auto t = parse_host("tcp://127.0.0.1:2375");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, Host::Kind::tcp);
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, "2375");
  EXPECT_EQ(parse_host("tcp://[::1]:99")->url, "tcp://[::1]:99");
  EXPECT_EQ(parse_host("tcp://localhost")->port, "2375");
  EXPECT_FALSE(parse_host("ssh://x"));
  EXPECT_FALSE(parse_host("tcp://h:99999"));
}

TEST(Query, EncodingAndPathEscape) {
  EXPECT_EQ(encode_query({{"filters", "{\"status\":{\"exited\":true}}"}, {"all", "1"}}),
            "filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D&all=1");
  EXPECT_EQ(path_escape("127.0.0.1:5000/a/b:v1"), "127.0.0.1:5000/a/b:v1");
  EXPECT_EQ(path_escape("a b?c"), "a%20b%3Fc");
}

}  // namespace
}  // namespace berth::client

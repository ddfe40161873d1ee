// Session against a small in-process HTTP/1.1 server on loopback (real
// libcurl, real sockets): connection reuse across requests, and an upload
// through the session a failed cross-repository mount opened.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "registry/client.h"

namespace berth::registry {
namespace {

class FakeRegistry {
 public:
  FakeRegistry() {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(lfd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FakeRegistry() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : conns_) t.join();
    ::close(lfd_);
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return accepted_; }
  std::vector<std::string> log() {
    std::lock_guard g(mu_);
    return log_;
  }
  std::string uploaded() {
    std::lock_guard g(mu_);
    return uploaded_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{lfd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++accepted_;
      conns_.emplace_back([this, c] { serve(c); });
    }
  }
  // Reads one request at a time off the connection and answers it, keeping
  // the connection open until the client closes it or the server stops.
  void serve(int c) {
    std::string buf;
    char tmp[65536];
    auto fill = [&]() -> bool {
      for (;;) {
        if (stop_) return false;
        pollfd p{c, POLLIN, 0};
        int r = ::poll(&p, 1, 50);
        if (r == 0) continue;
        ssize_t n = ::read(c, tmp, sizeof tmp);
        if (n <= 0) return false;
        buf.append(tmp, static_cast<size_t>(n));
        return true;
      }
    };
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos)
        if (!fill()) return (void)::close(c);
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      size_t clen = 0;
      if (auto p = head.find("Content-Length: "); p != std::string::npos) clen = std::stoul(head.substr(p + 16));
      while (buf.size() < clen)
        if (!fill()) return (void)::close(c);
      std::string body = buf.substr(0, clen);
      buf.erase(0, clen);
      std::string line = head.substr(0, head.find("\r\n"));
      std::string method = line.substr(0, line.find(' '));
      std::string path = line.substr(method.size() + 1, line.rfind(' ') - method.size() - 1);
      std::string resp;
      {
        std::lock_guard g(mu_);
        log_.push_back(method + " " + path);
        if (method == "HEAD") {
          resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        } else if (method == "POST" && path.find("mount=") != std::string::npos) {
          resp = "HTTP/1.1 202 Accepted\r\nLocation: /v2/r/blobs/uploads/from-mount\r\nContent-Length: 0\r\n\r\n";
        } else if (method == "POST") {
          resp = "HTTP/1.1 202 Accepted\r\nLocation: /v2/r/blobs/uploads/fresh\r\nContent-Length: 0\r\n\r\n";
        } else if (method == "PUT") {
          uploaded_ = body;
          resp = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
        } else {
          resp = "HTTP/1.1 204 No Content\r\n\r\n";
        }
      }
      if (::write(c, resp.data(), resp.size()) != static_cast<ssize_t>(resp.size())) return (void)::close(c);
    }
  }

  int lfd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> conns_;  // touched by the acceptor thread only, joined after it
  std::mutex mu_;
  std::vector<std::string> log_;
  std::string uploaded_;
};

TEST(Session, SequentialRequestsShareOneKeepAliveConnection) {
  FakeRegistry reg;
  Session s(Endpoint{reg.host(), true}, "r", AuthConfig{});
  const Digest d = Digest::of("layer");
  for (int i = 0; i < 5; ++i) {
    auto r = s.blob_exists(d);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);
  }
  EXPECT_EQ(reg.log().size(), 5u);
  EXPECT_EQ(reg.connections(), 1);
}

TEST(Session, FailedMountHandsItsUploadSessionToTheUpload) {
  FakeRegistry reg;
  Session s(Endpoint{reg.host(), true}, "r", AuthConfig{});
  const std::string data(300000, 'x');
  const Digest d = Digest::of(data);
  auto m = s.mount_blob(d, "other/repo");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->mounted);
  EXPECT_EQ(m->upload_location, "http://" + reg.host() + "/v2/r/blobs/uploads/from-mount");
  size_t pos = 0;
  Source src = [&](char* buf, size_t n) -> Result<size_t> {
    size_t k = std::min(n, data.size() - pos);
    std::memcpy(buf, data.data() + pos, k);
    pos += k;
    return k;
  };
  ASSERT_TRUE(s.upload_blob(d, static_cast<int64_t>(data.size()), src, 0, {}, m->upload_location));
  auto log = reg.log();
  ASSERT_EQ(log.size(), 2u);  // no DELETE of the mount's session, no second POST
  EXPECT_EQ(log[0], "POST /v2/r/blobs/uploads/?mount=" + d.str() + "&from=other/repo");
  EXPECT_EQ(log[1], "PUT /v2/r/blobs/uploads/from-mount?digest=" + d.str());
  EXPECT_EQ(reg.uploaded(), data);
  // Without a location, the upload opens its own session.
  pos = 0;
  ASSERT_TRUE(s.upload_blob(d, static_cast<int64_t>(data.size()), src));
  log = reg.log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[2], "POST /v2/r/blobs/uploads/");
  EXPECT_EQ(log[3], "PUT /v2/r/blobs/uploads/fresh?digest=" + d.str());
  EXPECT_EQ(reg.connections(), 1);
}

}  // namespace
}  // namespace berth::registry

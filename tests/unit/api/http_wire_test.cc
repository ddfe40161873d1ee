#include "api/http_wire.h"

#include <gtest/gtest.h>

using namespace berth;
using namespace berth::api;

TEST(HttpHead, ParsesRequestIncrementally) {
  std::string req = "POST /v1.41/containers/create?name=x HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}";
  HttpHead h;
  EXPECT_EQ(*parse_request_head(std::string_view(req).substr(0, 20), &h), 0u);
  auto n = parse_request_head(req, &h);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, req.size() - 2);
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/v1.41/containers/create?name=x");
  ASSERT_NE(h.header("content-length"), nullptr);
  EXPECT_EQ(*h.header("CONTENT-LENGTH"), "2");
  EXPECT_EQ(h.header("Upgrade"), nullptr);
}

TEST(HttpHead, RejectsGarbage) {
  HttpHead h;
  EXPECT_FALSE(parse_request_head("hello\r\n\r\n", &h));
  EXPECT_FALSE(parse_request_head("GET / HTTP/1.1\r\nnocolon\r\n\r\n", &h));
  EXPECT_FALSE(parse_request_head(std::string(kMaxHeadBytes + 10, 'a'), &h));
}

TEST(HttpHead, ParsesResponse) {
  HttpHead h;
  std::string r = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nUpgrade: tcp\r\n\r\nxx";
  ASSERT_EQ(*parse_response_head(r, &h), r.size() - 2);
  EXPECT_EQ(h.status, 101);
  EXPECT_EQ(h.reason, "UPGRADED");
  EXPECT_EQ(*h.header("upgrade"), "tcp");
}

TEST(Chunked, RoundTripAcrossSplits) {
  std::string body = chunk("hello ") + chunk("world") + std::string(kLastChunk) + "NEXT";
  for (size_t split = 0; split <= body.size(); ++split) {
    ChunkedDecoder d;
    std::string out;
    size_t a = *d.feed(std::string_view(body).substr(0, split), &out);
    size_t b = *d.feed(std::string_view(body).substr(a), &out);
    EXPECT_TRUE(d.done()) << split;
    EXPECT_EQ(out, "hello world") << split;
    EXPECT_EQ(body.substr(a + b), "NEXT") << split;
  }
  ChunkedDecoder bad;
  std::string out;
  EXPECT_FALSE(bad.feed("zz\r\n", &out));
}

TEST(Stdcopy, FramesAndDecodes) {
  std::string s = stdcopy_frame(StdStream::stdout_, "out") + stdcopy_frame(StdStream::stderr_, "err!");
  EXPECT_EQ(s.substr(0, 8), std::string("\x01\0\0\0\0\0\0\x03", 8));
  StdcopyDecoder d;
  std::string got;
  for (char c : s)
    ASSERT_TRUE(d.feed(std::string_view(&c, 1), [&](StdStream st, std::string_view p) {
      got += std::to_string(static_cast<int>(st)) + ":" + std::string(p) + ";";
    }));
  EXPECT_EQ(got, "1:out;2:err!;");
  EXPECT_TRUE(d.idle());
}

TEST(Versions, SplitAndCheck) {
  auto v = *split_target("/v1.41/containers/abc/json?all=1&filters=%7B%7D");
  ASSERT_TRUE(v.version);
  EXPECT_EQ(v.version->minor, 41);
  EXPECT_EQ(v.path, "/containers/abc/json");
  EXPECT_EQ(v.query, "all=1&filters=%7B%7D");
  auto u = *split_target("/_ping");
  EXPECT_FALSE(u.version);
  EXPECT_EQ(u.path, "/_ping");
  auto img = *split_target("/v1.41/images/127.0.0.1:5000%2Fa+b/json");
  EXPECT_EQ(img.path, "/images/127.0.0.1:5000/a+b/json");
  EXPECT_FALSE(split_target("/v1.x/info"));
  EXPECT_TRUE(check_api_version({1, 41}));
  EXPECT_TRUE(check_api_version({1, 24}));
  auto tn = check_api_version({1, 50});
  ASSERT_FALSE(tn);
  EXPECT_EQ(tn.error().msg, "client version 1.50 is too new. Maximum supported API version is 1.41");
  EXPECT_FALSE(check_api_version({1, 11}));
}

TEST(Query, RepeatedKeysAndDecoding) {
  auto q = parse_query("changes=CMD+%5B%22sh%22%5D&changes=ENV+X%3D1&all=1&flag");
  EXPECT_EQ(query_all(q, "changes").size(), 2u);
  EXPECT_EQ(query_all(q, "changes")[0], "CMD [\"sh\"]");
  EXPECT_EQ(*query_get(q, "all"), "1");
  EXPECT_EQ(*query_get(q, "flag"), "");
  EXPECT_FALSE(query_get(q, "nope"));
}

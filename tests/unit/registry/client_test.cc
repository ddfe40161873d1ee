#include "registry/client.h"

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

TEST(Challenge, ParsesBearerParameters) {
  auto c = parse_challenge(R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params["realm"], "https://auth.example/token");
  EXPECT_EQ(c->params["service"], "registry.example");
  EXPECT_EQ(c->params["scope"], "repository:a/b:pull");
}

TEST(Challenge, ParsesBasicAndUnquotedValues) {
  auto c = parse_challenge("Basic realm=img-e2e");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->params["realm"], "img-e2e");
  EXPECT_FALSE(parse_challenge(""));
}

TEST(Base64, RoundTripsAndAcceptsUrlAlphabetWithoutPadding) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\xfe\xfd?>"}) EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_encode("alice:s3cret"), "YWxpY2U6czNjcmV0");
  EXPECT_EQ(base64_decode("-_8"), "\xfb\xff");
}

TEST(AuthHeader, DecodesTheDockerCliJson) {
  std::string json = R"({"username":"alice","password":"pw","serveraddress":"127.0.0.1:5000"})";
  std::string enc = base64_encode(json);
  while (!enc.empty() && enc.back() == '=') enc.pop_back();  // base64url without padding
  for (auto& c : enc) c = c == '+' ? '-' : c == '/' ? '_' : c;
  auto a = decode_auth_header(enc);
  EXPECT_EQ(a.username, "alice");
  EXPECT_EQ(a.password, "pw");
  EXPECT_EQ(a.server_address, "127.0.0.1:5000");
  EXPECT_TRUE(decode_auth_header("e30=").empty());
  EXPECT_TRUE(decode_auth_header("!!garbage").empty());
}

TEST(Insecure, LoopbackByDefaultOthersWhenListed) {
  EXPECT_TRUE(is_insecure("127.0.0.1:5000", {}));
  EXPECT_TRUE(is_insecure("127.9.8.7", {}));
  EXPECT_TRUE(is_insecure("localhost:5000", {}));
  EXPECT_FALSE(is_insecure("10.1.2.3:5000", {}));
  EXPECT_FALSE(is_insecure("registry.example", {}));
  EXPECT_TRUE(is_insecure("registry.example:5000", {"registry.example:5000"}));
  EXPECT_TRUE(is_insecure("10.1.2.3:5000", {"10.0.0.0/8"}));
  EXPECT_FALSE(is_insecure("11.1.2.3:5000", {"10.0.0.0/8"}));
}

TEST(MediaTypes, LayersKnownOthersNot) {
  EXPECT_TRUE(is_layer_media_type(kDockerLayerGzip));
  EXPECT_TRUE(is_layer_media_type(kOciLayerZstd));
  EXPECT_FALSE(is_layer_media_type("application/vnd.example.evil"));
  EXPECT_EQ(api_host("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(api_host("127.0.0.1:5000"), "127.0.0.1:5000");
}

}  // namespace
}  // namespace berth::registry

#include "common/json_members.h"

#include <gtest/gtest.h>

#include <string>

namespace berth {
namespace {

// The reference: the full parse with the other members erased.
Json reference(const std::string& text, std::initializer_list<std::string_view> keep) {
  Json j = Json::parse(text);
  for (auto& e : j) {
    if (!e.is_object()) continue;
    Json o = Json::object();
    for (auto k : keep)
      if (e.contains(std::string(k))) o[std::string(k)] = e[std::string(k)];
    e = o;
  }
  return j;
}

TEST(JsonProjection, KeepsOnlyNamedMembersAndEqualsTheFullParse) {
  const std::string text = R"( [
    {"Id":"abc","Names":["/a","/b"],"HostConfig":{"NetworkMode":"none","x":[1,{"y":"}]"}]},
     "Command":"sh -c \"echo \\\"hi\\\" }\"","Created":1700000000,"Neg":-12,"F":1.5e3,
     "Labels":{"k":"v\u00e9","q":"\\"},"Mounts":[],"State":"running","Ports":[{"PrivatePort":80,"Type":"tcp"}],
     "Esc\"aped":"x","Empty":"","Null":null,"T":true},
    {"Id":"d\"ef","Status":"Up 2 seconds","Image":"busybox","Created":0,"Names":[]},
    {}
  ] )";
  std::initializer_list<std::string_view> keep = {"Id", "Names", "Command", "Created", "Labels", "State",
                                                  "Ports", "Status", "Image", "Neg", "F", "Empty", "Null", "T"};
  auto got = parse_json_array_members(text, keep);
  ASSERT_TRUE(got) << got.error().msg;
  EXPECT_EQ(*got, reference(text, keep));
  EXPECT_EQ(got->dump(), reference(text, keep).dump());
  EXPECT_FALSE((*got)[0].contains("HostConfig"));
  EXPECT_FALSE((*got)[0].contains("Mounts"));
  EXPECT_EQ((*got)[0]["Command"], "sh -c \"echo \\\"hi\\\" }\"");
  EXPECT_EQ((*got)[1]["Id"], "d\"ef");
  EXPECT_EQ((*got)[0]["Labels"]["k"], "v\u00e9");
  EXPECT_TRUE((*got)[0]["Created"].is_number_unsigned());
  EXPECT_TRUE((*got)[0]["Neg"].is_number_integer());
  EXPECT_EQ((*got)[2], Json::object());
}

// Kept arrays and objects (Names, Labels, Ports) are decoded by the
// projection itself, not the full parser: the same values, to any depth.
TEST(JsonProjection, NestedKeptValuesEqualTheFullParse) {
  const std::string text = R"([
    {"Names":["/a", "/b/c" ,"/\u00e9"],"Labels":{"z":"1","a":"","dup":"x","dup":"y","n":{"m":[[],{},[1,-2,3.5,true,false,null]]}},
     "Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},{"PrivatePort":443,"Type":"tcp"}],
     "Big":18446744073709551615,"Neg":[-9223372036854775808],"E":[1e3,-0.5],"Deep":[[[["x"]]]]},
    {"Names":[],"Labels":{},"Ports":[ ],"Big":0,"Neg":[],"E":[],"Deep":{"k\"q":"v"}}
  ])";
  std::initializer_list<std::string_view> keep = {"Names", "Labels", "Ports", "Big", "Neg", "E", "Deep"};
  auto got = parse_json_array_members(text, keep);
  ASSERT_TRUE(got) << got.error().msg;
  EXPECT_EQ(got->dump(), reference(text, keep).dump());
  EXPECT_TRUE((*got)[0]["Ports"][0]["PrivatePort"].is_number_unsigned());
  EXPECT_TRUE((*got)[0]["Neg"][0].is_number_integer());
  EXPECT_TRUE((*got)[0]["E"][0].is_number_float());
  EXPECT_EQ((*got)[0]["Labels"]["dup"], "y");
  for (const char* bad : {R"([{"Names":["a",]}])", R"([{"Names":["a" "b"]}])", R"([{"Labels":{"a":}}])",
                          R"([{"Labels":{"a" 1}}])", R"([{"Labels":{"a":1,}}])", R"([{"Ports":[{"x":tru}]}])",
                          R"([{"Ports":[01]}])", "[{\"Names\":[\"a\tb\"]}]", R"([{"Names":["a"}])"}) {
    auto r = parse_json_array_members(bad, keep);
    EXPECT_FALSE(r) << bad;
  }
}

TEST(JsonProjection, EmptyArrayAndNonArrays) {
  auto e = parse_json_array_members(" [ ] ", {"Id"});
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, Json::array());
  auto o = parse_json_array_members(R"({"message":"boom"})", {"Id"});
  ASSERT_TRUE(o);
  EXPECT_EQ(*o, Json::parse(R"({"message":"boom"})"));
  auto mixed = parse_json_array_members(R"([1,{"Id":"a","x":2}])", {"Id"});
  ASSERT_TRUE(mixed);
  EXPECT_EQ(*mixed, Json::parse(R"([1,{"Id":"a"}])"));
}

TEST(JsonProjection, MalformedInputIsAnError) {
  for (const char* bad : {"", "[", R"([{"Id":"a"})", R"([{"Id":"a})", R"([{"Id":"a"},])", R"([{"Id":01}])",
                          R"([{"Id":"a"}] x)", R"([{"Id" "a"}])", "[{\"Id\":\"a\tb\"}]", R"([{"Id":tru}])"}) {
    auto r = parse_json_array_members(bad, {"Id"});
    EXPECT_FALSE(r) << bad;
  }
}

}  // namespace
}  // namespace berth

#include "image/image_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "common/fs.h"
#include "common/id.h"
#include "common/time.h"
#include "unit/image/tar_builder.h"

using namespace berth;
using namespace berth::image;
using berth::testing::memfd_with;
using berth::testing::TarBuilder;

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/img-store-XXXXXX";
    root_ = ::mkdtemp(t);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    (void)fs::remove_all(root_);
  }
  void reopen() {
    store_.reset();
    db_.reset();
    auto db = store::Db::open(root_ + "/berth.db");
    ASSERT_TRUE(db) << db.error().msg;
    db_ = std::move(*db);
    auto s = ImageStore::open(*db_, root_);
    ASSERT_TRUE(s) << s.error().msg;
    store_ = std::move(*s);
  }
  static std::string good_tar(const std::string& marker = "hi\n") {
    return TarBuilder().dir("d").file("d/f", marker).symlink("l", "d/f").finish();
  }
  Result<Image> import(const std::string& bytes, ImportOptions o = {}) {
    auto fd = memfd_with(bytes);
    return store_->import(fd.get(), o);
  }
  // Nothing of a failed import may remain.
  void expect_no_leftovers() {
    EXPECT_TRUE(fs::list_dir(root_ + "/overlay").empty());
    EXPECT_TRUE(fs::list_dir(root_ + "/content/ingest").empty());
    EXPECT_TRUE(fs::list_dir(root_ + "/content/blobs/sha256").empty());
    EXPECT_TRUE(store_->list().empty());
  }

  std::string root_;
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImageStoreTest, ImportCreatesAOneLayerImageLikeDocker) {
  const std::string tar = good_tar();
  const int64_t before = timeutil::now_unix_nano();
  auto img = import(tar);
  ASSERT_TRUE(img) << img.error().msg;
  const std::string diff_id = "sha256:" + sha256_hex(tar);

  // The ID is the digest of the stored config blob.
  ASSERT_TRUE(is_hex64(std::string_view(img->id).substr(7)));
  auto blob = fs::read_file(root_ + "/content/blobs/sha256/" + img->id.substr(7));
  ASSERT_TRUE(blob);
  EXPECT_EQ("sha256:" + sha256_hex(*blob), img->id);
  EXPECT_EQ(Json::parse(*blob), img->config);

  const Json& c = img->config;
  EXPECT_EQ(c["architecture"], "amd64");
  EXPECT_EQ(c["os"], "linux");
  EXPECT_EQ(c["comment"], "Imported from -");
  EXPECT_TRUE(c["config"]["Cmd"].is_null());
  EXPECT_EQ(c["rootfs"], Json::parse(R"({"type":"layers","diff_ids":[")" + diff_id + R"("]})"));
  ASSERT_EQ(c["history"].size(), 1u);
  EXPECT_EQ(c["history"][0]["comment"], "Imported from -");
  EXPECT_EQ(c["history"][0]["created"], c["created"]);
  EXPECT_GE(img->created_unix_nano, before);
  EXPECT_EQ(*timeutil::parse_rfc3339(c["created"].get<std::string>()), img->created_unix_nano);
  EXPECT_EQ(img->size, 6);  // "hi\n" + "d/f", as Docker reports
  EXPECT_TRUE(img->repo_tags.empty());

  ASSERT_EQ(img->layer_dirs.size(), 1u);
  EXPECT_EQ(img->layer_dirs[0], root_ + "/overlay/" + diff_id.substr(7) + "/diff");
  EXPECT_EQ(*fs::read_file(img->layer_dirs[0] + "/d/f"), "hi\n");
  // Only the layer and its marker: no temp dirs, no ingest files.
  EXPECT_EQ(fs::list_dir(root_ + "/overlay"), std::vector<std::string>{diff_id.substr(7)});
  EXPECT_TRUE(fs::list_dir(root_ + "/content/ingest").empty());
}

TEST_F(ImageStoreTest, ImportWithRepoChangesAndMessage) {
  ImportOptions o;
  o.repo = "example/imported:v1";
  o.changes = {"CMD [\"/bin/sh\"]", "ENV A=1 B=2", "EXPOSE 80/tcp", "LABEL x=y", "WORKDIR /w"};
  o.message = "my msg";
  auto img = import(good_tar(), o);
  ASSERT_TRUE(img) << img.error().msg;
  EXPECT_EQ(img->repo_tags, std::vector<std::string>{"example/imported:v1"});
  EXPECT_EQ(img->config["comment"], "my msg");
  EXPECT_EQ(img->config["history"][0]["comment"], "my msg");
  EXPECT_EQ(img->config["config"]["Cmd"], Json::parse(R"(["/bin/sh"])"));
  EXPECT_EQ(img->config["config"]["Env"], Json::parse(R"(["A=1","B=2"])"));
  EXPECT_EQ(img->config["config"]["Labels"], Json::parse(R"({"x":"y"})"));
  EXPECT_GT(img->last_tag_unix_nano, 0);

  o = {};
  o.repo = "docker.io/library/other";
  o.tag = "v2";
  auto img2 = import(good_tar(), o);
  ASSERT_TRUE(img2) << img2.error().msg;
  EXPECT_EQ(img2->repo_tags, std::vector<std::string>{"other:v2"});
  o = {};
  o.repo = "plain";
  auto img3 = import(good_tar(), o);
  ASSERT_TRUE(img3);
  EXPECT_EQ(img3->repo_tags, std::vector<std::string>{"plain:latest"});
  // Same layer content: one layer directory shared by three images.
  EXPECT_EQ(fs::list_dir(root_ + "/overlay").size(), 1u);
  EXPECT_EQ(img->layer_dirs, img3->layer_dirs);
}

TEST_F(ImageStoreTest, BadOptionsFailBeforeReadingInput) {
  auto fd = memfd_with(good_tar());
  ImportOptions o;
  o.repo = "Bad";
  auto r = store_->import(fd.get(), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid);
  EXPECT_EQ(r.error().msg, "invalid reference format: repository name must be lowercase");
  o.repo = "x";
  o.tag = "bad tag";
  EXPECT_FALSE(store_->import(fd.get(), o));
  o = {};
  o.changes = {"RUN rm -rf /"};
  r = store_->import(fd.get(), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().msg, "run is not a valid change command");
  o = {};
  o.repo = "x@sha256:" + std::string(64, 'a');
  EXPECT_FALSE(store_->import(fd.get(), o));
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_CUR), 0);  // input untouched
  expect_no_leftovers();
}

TEST_F(ImageStoreTest, BadArchivesLeaveNothingBehind) {
  std::string gz = TarBuilder(TarBuilder::Filter::gzip).file("f", std::string(300000, 'q')).finish();
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"not a tar", std::string("definitely not a tar archive\n")},
      {"garbage", std::string(10000, 'x')},
      {"truncated gzip", gz.substr(0, gz.size() / 2)},
      {"dotdot", TarBuilder().file("ok", "1").file("../../escape", "x").finish()},
      {"hardlink out", TarBuilder().file("ok", "1").hardlink("pw", "/etc/passwd").finish()},
      {"symlink out", TarBuilder().symlink("evil", "/tmp").file("evil/img-pwned", "x").finish()},
  };
  for (const auto& [what, bytes] : cases) {
    ImportOptions o;
    o.repo = "victim:latest";
    auto r = import(bytes, o);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().kind, Errc::invalid) << what << ": " << r.error().msg;
    expect_no_leftovers();
    EXPECT_FALSE(store_->resolve("victim"));
  }
  EXPECT_FALSE(fs::exists("/tmp/img-pwned"));
  EXPECT_FALSE(fs::exists(fs::dirname(root_) + "/escape"));
}

// A tar cut at a 512-byte block boundary parses as a shorter, clean archive
// (libarchive and Go's reader both take a missing end marker for the end):
// import has no digest to catch it, so the missing end-of-archive blocks must.
TEST_F(ImageStoreTest, TarCutAtABlockBoundaryIsNotAnImage) {
  // pax_restricted with plain names: ustar headers, 600 bytes = 2 data
  // blocks per entry, then exactly two zero blocks (bytes_in_last_block=1).
  const std::string full = TarBuilder().file("a", std::string(600, 'a')).file("b", std::string(600, 'b')).finish();
  ASSERT_EQ(full.size(), 2 * 1536u + 1024u);
  ASSERT_EQ(full.substr(full.size() - 1024), std::string(1024, '\0'));
  const std::vector<std::pair<const char*, std::string>> cut = {
      {"after the first entry", full.substr(0, 1536)},
      {"after the last entry", full.substr(0, 3072)},
      {"after a header", full.substr(0, 1536 + 512)},
  };
  for (const auto& [what, bytes] : cut) {
    ImportOptions o;
    o.repo = "cut:latest";
    auto r = import(bytes, o);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().kind, Errc::invalid) << what << ": " << r.error().msg;
    expect_no_leftovers();
    EXPECT_FALSE(store_->resolve("cut"));
  }
  // One zero block is an end marker (some writers stop there): accepted,
  // as is the whole archive and an archive of nothing but the marker.
  auto one = import(full.substr(0, 3072 + 512));
  ASSERT_TRUE(one) << one.error().msg;
  auto whole = import(full);
  ASSERT_TRUE(whole) << whole.error().msg;
  auto marker_only = import(std::string(1024, '\0'));
  ASSERT_TRUE(marker_only) << marker_only.error().msg;
}

TEST_F(ImageStoreTest, ResolveByEveryForm) {
  ImportOptions o;
  o.repo = "busybox";
  auto img = import(good_tar(), o);
  ASSERT_TRUE(img);
  const std::string hex = img->id.substr(7);
  for (std::string ref : {std::string("busybox"), std::string("busybox:latest"),
                          std::string("docker.io/library/busybox:latest"), std::string("library/busybox"),
                          img->id, hex, hex.substr(0, 12), hex.substr(0, 1), "sha256:" + hex.substr(0, 5)}) {
    auto r = store_->resolve(ref);
    ASSERT_TRUE(r) << ref << ": " << r.error().msg;
    EXPECT_EQ(r->id, img->id) << ref;
  }
  for (std::string ref : {std::string("busybox:other"), std::string("nothere"), std::string("Busybox"),
                          "sha256:" + std::string(64, 'f'),
                          std::string("zz"), std::string("")}) {
    auto r = store_->resolve(ref);
    ASSERT_FALSE(r) << ref;
    EXPECT_EQ(r.error().kind, Errc::not_found);
    EXPECT_EQ(r.error().msg, "No such image: " + ref);
  }
}

TEST_F(ImageStoreTest, AmbiguousIdPrefixIsNotFound) {
  std::vector<Image> imgs;
  std::map<char, std::string> first;
  std::string a, b;
  for (int i = 0; i < 17 && a.empty(); ++i) {
    auto img = import(good_tar(std::to_string(i)));
    ASSERT_TRUE(img);
    char c = img->id[7];
    if (first.count(c)) {
      a = first[c];
      b = img->id;
    }
    first[c] = img->id;
  }
  ASSERT_FALSE(a.empty());  // pigeonhole: 17 IDs, 16 hex digits
  size_t n = 0;
  while (a[7 + n] == b[7 + n]) ++n;
  std::string common = a.substr(7, n);
  auto r = store_->resolve(common);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::not_found);
  EXPECT_EQ(store_->resolve(a.substr(7, n + 1))->id, a);
  EXPECT_EQ(store_->resolve(b.substr(7, n + 1))->id, b);
}

TEST_F(ImageStoreTest, TagsMoveAndStack) {
  ImportOptions o;
  o.repo = "app:v1";
  auto first = import(good_tar("one"), o);
  ASSERT_TRUE(first);
  ASSERT_TRUE(store_->tag(*first, "app:stable"));
  ASSERT_TRUE(store_->tag(*first, "docker.io/example/app:x"));
  auto r = store_->resolve("app:v1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo_tags, (std::vector<std::string>{"app:stable", "app:v1", "example/app:x"}));
  EXPECT_FALSE(store_->tag(*first, "app@sha256:" + std::string(64, 'a')));
  EXPECT_FALSE(store_->tag(*first, "Bad"));

  // Re-importing with the same tag moves it; the old image stays, one tag fewer.
  auto second = import(good_tar("two"), o);
  ASSERT_TRUE(second);
  EXPECT_NE(second->id, first->id);
  EXPECT_EQ(store_->resolve("app:v1")->id, second->id);
  auto old = store_->resolve(first->id);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->repo_tags, (std::vector<std::string>{"app:stable", "example/app:x"}));
  EXPECT_EQ(store_->list().size(), 2u);

  // Moving the remaining tags leaves the first image dangling.
  ASSERT_TRUE(store_->tag(*second, "app:stable"));
  ASSERT_TRUE(store_->tag(*second, "example/app:x"));
  old = store_->resolve(first->id);
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->repo_tags.empty());
  Json lj = store_->to_list_json(*old);
  EXPECT_EQ(lj["RepoTags"], Json::parse(R"(["<none>:<none>"])"));
  EXPECT_EQ(lj["RepoDigests"], Json::parse(R"(["<none>@<none>"])"));

  // Everything survives a restart.
  reopen();
  auto s2 = store_->resolve("app:v1");
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->id, second->id);
  EXPECT_EQ(s2->repo_tags, (std::vector<std::string>{"app:stable", "app:v1", "example/app:x"}));
  EXPECT_EQ(s2->config, second->config);
  EXPECT_EQ(s2->layer_dirs, second->layer_dirs);
  EXPECT_EQ(s2->size, second->size);
  EXPECT_EQ(s2->created_unix_nano, second->created_unix_nano);
  EXPECT_GT(s2->last_tag_unix_nano, 0);
  ASSERT_TRUE(store_->resolve(first->id));
  auto l = store_->list();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].id, second->id);  // newest first
}

TEST_F(ImageStoreTest, ListAndInspectJsonShapes) {
  ImportOptions o;
  o.repo = "example/imported:v1";
  o.changes = {"LABEL x=y", "CMD [\"/bin/sh\"]"};
  o.message = "my msg";
  auto img = import(good_tar(), o);
  ASSERT_TRUE(img);

  Json l = store_->to_list_json(*img);
  std::set<std::string> keys;
  for (auto it = l.begin(); it != l.end(); ++it) keys.insert(it.key());
  EXPECT_EQ(keys, (std::set<std::string>{"Containers", "Created", "Id", "Labels", "ParentId", "RepoDigests",
                                         "RepoTags", "SharedSize", "Size", "VirtualSize"}));
  EXPECT_EQ(l["Containers"], -1);
  EXPECT_EQ(l["SharedSize"], -1);
  EXPECT_EQ(l["Created"], img->created_unix_nano / 1000000000);
  EXPECT_EQ(l["Id"], img->id);
  EXPECT_EQ(l["Labels"], Json::parse(R"({"x":"y"})"));
  EXPECT_EQ(l["ParentId"], "");
  EXPECT_EQ(l["RepoTags"], Json::parse(R"(["example/imported:v1"])"));
  EXPECT_TRUE(l["RepoDigests"].is_null());
  EXPECT_EQ(l["Size"], 6);
  EXPECT_EQ(l["VirtualSize"], 6);

  Json i = store_->to_inspect_json(*img);
  keys.clear();
  for (auto it = i.begin(); it != i.end(); ++it) keys.insert(it.key());
  EXPECT_EQ(keys, (std::set<std::string>{"Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created",
                                         "Container", "ContainerConfig", "DockerVersion", "Author", "Config",
                                         "Architecture", "Os", "Size", "VirtualSize", "GraphDriver", "RootFS",
                                         "Metadata"}));
  EXPECT_EQ(i["RepoDigests"], Json::array());
  EXPECT_EQ(i["Comment"], "my msg");
  EXPECT_EQ(i["Created"], img->config["created"]);
  EXPECT_EQ(i["Config"]["Cmd"], Json::parse(R"(["/bin/sh"])"));
  EXPECT_EQ(i["Config"]["Labels"], Json::parse(R"({"x":"y"})"));
  EXPECT_TRUE(i["Config"]["Env"].is_null());
  EXPECT_EQ(i["Config"]["Hostname"], "");
  EXPECT_TRUE(i["ContainerConfig"]["Cmd"].is_null());
  EXPECT_EQ(i["Architecture"], "amd64");
  EXPECT_EQ(i["Os"], "linux");
  EXPECT_EQ(i["GraphDriver"]["Name"], "overlay2");
  EXPECT_EQ(i["GraphDriver"]["Data"]["UpperDir"], img->layer_dirs[0]);
  EXPECT_FALSE(i["GraphDriver"]["Data"].contains("LowerDir"));
  EXPECT_EQ(i["RootFS"]["Type"], "layers");
  EXPECT_EQ(i["RootFS"]["Layers"], img->config["rootfs"]["diff_ids"]);
  EXPECT_EQ(i["Metadata"]["LastTagTime"], timeutil::rfc3339_nano(img->last_tag_unix_nano));

  auto untagged = import(good_tar("u"));
  ASSERT_TRUE(untagged);
  Json ui = store_->to_inspect_json(*untagged);
  EXPECT_EQ(ui["RepoTags"], Json::array());
  EXPECT_EQ(ui["Metadata"]["LastTagTime"], "0001-01-01T00:00:00Z");
  EXPECT_TRUE(store_->to_list_json(*untagged)["Labels"].is_null());
}

TEST_F(ImageStoreTest, HistoryJsonAndTagByRepoAndTag) {
  ImportOptions o;
  o.repo = "example/imported:v1";
  o.message = "my msg";
  auto img = import(good_tar(), o);
  ASSERT_TRUE(img);
  Json h = store_->to_history_json(*img);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0], Json({{"Comment", "my msg"},
                        {"Created", img->created_unix_nano / 1000000000},
                        {"CreatedBy", ""},
                        {"Id", img->id},
                        {"Size", 6},
                        {"Tags", {"example/imported:v1"}}}));
  reopen();
  auto again = store_->resolve(img->id);
  ASSERT_TRUE(again);
  EXPECT_EQ(store_->to_history_json(*again), h);  // layer sizes survive a restart

  ASSERT_TRUE(store_->tag(*again, "docker.io/example/app", "one"));
  ASSERT_TRUE(store_->tag(*again, "example/app", ""));
  EXPECT_EQ(store_->resolve("example/app:one")->id, img->id);
  EXPECT_EQ(store_->resolve("example/app")->id, img->id);
  auto bad = store_->tag(*again, "foo", "sha256:abc");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().msg, "invalid tag format");
  bad = store_->tag(*again, "sha256", "abc");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().msg, "refusing to create an ambiguous tag using digest algorithm as name");
}

TEST_F(ImageStoreTest, ListFilters) {
  ImportOptions o;
  o.repo = "example/web:v1";
  o.changes = {"LABEL tier=front team=a"};
  auto web = import(good_tar("w"), o);
  ASSERT_TRUE(web);
  o = {};
  o.repo = "example/db:v1";
  o.changes = {"LABEL tier=back"};
  auto db = import(good_tar("d"), o);
  ASSERT_TRUE(db);
  auto dangling = import(good_tar("x"));
  ASSERT_TRUE(dangling);
  auto ids = [&](const char* filters) {
    auto r = store_->list(Json::parse(filters));
    EXPECT_TRUE(r) << filters << ": " << r.error().msg;
    std::vector<std::string> out;
    if (r)
      for (const auto& i : *r) out.push_back(i.id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids("{}"), (V{dangling->id, db->id, web->id}));
  EXPECT_EQ(ids(R"({"dangling":["true"]})"), (V{dangling->id}));
  EXPECT_EQ(ids(R"({"dangling":{"false":true}})"), (V{db->id, web->id}));
  EXPECT_EQ(ids(R"({"label":["tier"]})"), (V{db->id, web->id}));
  EXPECT_EQ(ids(R"({"label":["tier=front"]})"), (V{web->id}));
  EXPECT_EQ(ids(R"({"label":["tier=front","team=b"]})"), V{});
  EXPECT_EQ(ids(R"({"reference":["example/*"]})"), (V{db->id, web->id}));
  EXPECT_EQ(ids(R"({"reference":["example/db"]})"), (V{db->id}));
  EXPECT_EQ(ids(R"({"reference":["*:v1"]})"), V{});  // '*' does not cross '/'
  EXPECT_EQ(ids(R"({"reference":["*/*:v1"]})"), (V{db->id, web->id}));
  EXPECT_EQ(ids(R"({"before":["example/db:v1"]})"), (V{web->id}));
  EXPECT_EQ(ids(R"({"since":["example/db:v1"]})"), (V{dangling->id}));
  auto bad = store_->list(Json::parse(R"({"nope":["x"]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().msg, "invalid filter 'nope'");
  EXPECT_FALSE(store_->list(Json::parse(R"({"dangling":["maybe"]})")));
  auto missing = store_->list(Json::parse(R"({"before":["nothere"]})"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Errc::not_found);
}

TEST_F(ImageStoreTest, OpenSweepsCrashLeftovers) {
  ImportOptions o;
  o.repo = "kept";
  auto img = import(good_tar(), o);
  ASSERT_TRUE(img);
  store_.reset();
  const std::string overlay = root_ + "/overlay/";
  // An extraction that never finished, a layer renamed into place whose
  // transaction never ran, an ingest file, and someone else's directory.
  ASSERT_TRUE(fs::mkdir_p(overlay + ".tmp-layer-deadbeef/diff/etc"));
  const std::string orphan(64, 'e');
  ASSERT_TRUE(fs::mkdir_p(overlay + orphan + "/diff/bin"));
  ASSERT_TRUE(fs::write_file_atomic(overlay + orphan + "/layer", "{}"));
  const std::string foreign(64, 'c');
  ASSERT_TRUE(fs::mkdir_p(overlay + foreign + "/diff"));
  ASSERT_TRUE(fs::write_file_atomic(root_ + "/content/ingest/partial", "half a blob"));
  reopen();
  EXPECT_FALSE(fs::exists(overlay + ".tmp-layer-deadbeef"));
  EXPECT_FALSE(fs::exists(overlay + orphan));
  EXPECT_TRUE(fs::exists(overlay + foreign));  // not a layer (no marker): not ours to delete
  EXPECT_TRUE(fs::list_dir(root_ + "/content/ingest").empty());
  auto r = store_->resolve("kept");
  ASSERT_TRUE(r);
  EXPECT_TRUE(fs::exists(r->layer_dirs[0] + "/d/f"));
}

TEST_F(ImageStoreTest, RemoveFollowsDockerRules) {
  ImportOptions o;
  o.repo = "a:1";
  auto img = import(good_tar("x"), o);
  ASSERT_TRUE(img);
  ASSERT_TRUE(store_->tag(*img, "b:1"));
  auto other = import(good_tar("x"));  // same layer, different image
  ASSERT_TRUE(other);

  // By name with another tag left: only untag.
  auto r = store_->remove("a:1", false);
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(*r, Json::parse(R"([{"Untagged":"a:1"}])"));
  ASSERT_TRUE(store_->tag(*img, "a:1"));
  // By ID with two tags: conflict unless forced.
  r = store_->remove(img->id.substr(7, 12), false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::conflict);
  EXPECT_NE(r.error().msg.find("must be forced"), std::string::npos);
  r = store_->remove(img->id, true);
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(*r, Json::parse(R"([{"Untagged":"a:1"},{"Untagged":"b:1"},{"Deleted":")" + img->id + R"("}])"));
  EXPECT_FALSE(store_->resolve(img->id));
  EXPECT_FALSE(store_->resolve("b:1"));
  EXPECT_FALSE(fs::exists(root_ + "/content/blobs/sha256/" + img->id.substr(7)));
  // The layer is still used by `other`.
  EXPECT_TRUE(fs::exists(other->layer_dirs[0]));
  r = store_->remove(other->id, false);
  ASSERT_TRUE(r) << r.error().msg;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1]["Deleted"], "sha256:" + fs::basename(fs::dirname(other->layer_dirs[0])));
  EXPECT_FALSE(fs::exists(other->layer_dirs[0]));
  EXPECT_TRUE(store_->list().empty());
  reopen();
  EXPECT_TRUE(store_->list().empty());
  EXPECT_TRUE(fs::list_dir(root_ + "/overlay").empty());
  EXPECT_FALSE(store_->remove("nothere", false));
}

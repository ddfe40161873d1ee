// The archive API's pieces on a real temporary tree: path rules, Docker's
// stat, symlink resolution in scope, tar names, extraction limits.
#include "container/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/base64.h"
#include "common/strings.h"

namespace berth::container {
namespace {

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ctr-archive-unit.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ + "/root";
    ASSERT_TRUE(fs::mkdir_p(root_ + "/d/sub"));
    ASSERT_TRUE(fs::mkdir_p(root_ + "/mnt"));
    ASSERT_TRUE(fs::write_file_atomic(root_ + "/d/a", "hi"));
    ASSERT_EQ(::symlink("/d", (root_ + "/ld").c_str()), 0);
    ASSERT_EQ(::symlink("a", (root_ + "/d/la").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../etc", (root_ + "/esc").c_str()), 0);
  }
  void TearDown() override { (void)fs::remove_all(dir_); }

  // The kernel shows volumes in the root (service_archive.cc binds them);
  // a CopyMount only tells the daemon's read-only check about one.
  CopyRoot make_root(bool with_ro_volume) {
    std::vector<CopyMount> mounts;
    if (with_ro_volume) mounts.push_back({"/mnt", true});
    return CopyRoot(UniqueFd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)), std::move(mounts));
  }

  static std::vector<std::string> names_of(const std::string& tar) {
    std::vector<std::string> out;
    struct archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    EXPECT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
    struct archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) out.emplace_back(archive_entry_pathname(e));
    archive_read_free(a);
    return out;
  }

  std::string dir_, root_;
};

TEST(ArchivePaths, TrailingDotAndSlashArePreserved) {
  EXPECT_EQ(archive_abs_path("d"), "/d");
  EXPECT_EQ(archive_abs_path("/d/"), "/d/");
  EXPECT_EQ(archive_abs_path("/d/."), "/d/.");
  EXPECT_EQ(archive_abs_path("/x/../d/./"), "/d/./");  // Base is ".", then the trailing /
  EXPECT_EQ(archive_abs_path("/../../etc"), "/etc");
  EXPECT_EQ(archive_abs_path("/"), "/");
  EXPECT_EQ(go_base("/"), "/");
  EXPECT_EQ(go_base("/d/."), ".");
  EXPECT_EQ(go_base("/ld/"), "ld");
}

TEST(ArchivePaths, GoFileMode) {
  EXPECT_EQ(go_file_mode(S_IFDIR | 0755), 2147484141u);
  EXPECT_EQ(go_file_mode(S_IFREG | 0644), 420u);
  EXPECT_EQ(go_file_mode(S_IFLNK | 0777), 134218239u);
  EXPECT_EQ(go_file_mode(S_IFCHR | 0666), (1u << 26) | (1u << 21) | 0666u);
  EXPECT_EQ(go_file_mode(S_IFREG | S_ISUID | 0755), (1u << 23) | 0755u);
}

TEST(ArchivePaths, Base64RoundTrip) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto d = str::base64_decode(str::base64_encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(str::base64_encode("{}"), "e30=");
  EXPECT_FALSE(str::base64_decode("e30"));
  EXPECT_FALSE(str::base64_decode("e3=0"));
}

TEST_F(ArchiveTest, ResolveStaysInScope) {
  auto r = make_root(false);
  EXPECT_EQ(*r.resolve("/ld/la"), "/d/a");
  EXPECT_EQ(*r.resolve("/ld/../ld/sub"), "/d/sub");
  EXPECT_EQ(*r.resolve("/esc/passwd"), "/etc/passwd");  // ../ in a link stops at the root
  EXPECT_EQ(*r.resolve("/nope/x"), "/nope/x");
}

TEST_F(ArchiveTest, StatAsDocker) {
  auto r = make_root(false);
  auto d = stat_archive_path(r, "/d");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->stat.name, "d");
  EXPECT_EQ(d->stat.mode, 2147484141u);
  auto la = stat_archive_path(r, "/d/la");
  ASSERT_TRUE(la);
  EXPECT_EQ(la->stat.link_target, "/d/a");
  EXPECT_EQ(la->stat.size, 1);
  auto ld = stat_archive_path(r, "/ld/");
  ASSERT_TRUE(ld);
  EXPECT_EQ(ld->stat.name, "ld");
  EXPECT_TRUE(ld->stat.is_dir);
  EXPECT_EQ(ld->resolved, "/d");
  auto missing = stat_archive_path(r, "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Errc::not_found);
  auto notdir = stat_archive_path(r, "/d/a/x");
  ASSERT_FALSE(notdir);
  EXPECT_EQ(notdir.error().msg, "lstat /d/a/x: not a directory");
  std::string j = path_stat_json(d->stat);
  EXPECT_EQ(j.rfind("{\"name\":\"d\",\"size\":", 0), 0u) << j;
  EXPECT_NE(j.find(",\"mode\":2147484141,\"mtime\":\""), std::string::npos) << j;
  EXPECT_TRUE(str::ends_with(j, "Z\",\"linkTarget\":\"\"}")) << j;
}

TEST_F(ArchiveTest, TarNamesFollowTheRequestedPath) {
  auto r = make_root(true);
  auto tar_of = [&](const std::string& p) {
    std::string out;
    auto src = stat_archive_path(r, p);
    EXPECT_TRUE(src) << p;
    EXPECT_TRUE(write_archive(r, *src, [&](std::string_view d) {
      out.append(d);
      return ok();
    }));
    return names_of(out);
  };
  EXPECT_EQ(tar_of("/d"), (std::vector<std::string>{"d/", "d/a", "d/la", "d/sub/"}));
  EXPECT_EQ(tar_of("/d/."), (std::vector<std::string>{"./", "./a", "./la", "./sub/"}));
  EXPECT_EQ(tar_of("/ld/"), (std::vector<std::string>{"ld/", "ld/a", "ld/la", "ld/sub/"}));
  EXPECT_EQ(tar_of("/ld"), (std::vector<std::string>{"ld"}));
  std::string exp;
  ASSERT_TRUE(write_export(make_root(false), [&](std::string_view d) {
    exp.append(d);
    return ok();
  }));
  auto names = names_of(exp);
  EXPECT_EQ(names.front(), "d/");
  EXPECT_NE(std::find(names.begin(), names.end(), "esc"), names.end());
}

TEST_F(ArchiveTest, ExtractRules) {
  auto r = make_root(true);
  auto put = [&](const std::string& path, std::vector<std::pair<std::string, bool>> entries, bool no_overwrite) {
    std::string tar;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    size_t used = 0;
    tar.resize(1 << 20);
    EXPECT_EQ(archive_write_open_memory(a, tar.data(), tar.size(), &used), ARCHIVE_OK);
    for (const auto& [name, is_dir] : entries) {
      struct archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, name.c_str());
      archive_entry_set_filetype(e, is_dir ? AE_IFDIR : AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, is_dir ? 0 : 3);
      archive_write_header(a, e);
      if (!is_dir) archive_write_data(a, "new", 3);
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    tar.resize(used);
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    EXPECT_TRUE(fs::write_all(p[1], tar));
    ::close(p[1]);
    ExtractRequest req;
    req.path = path;
    req.no_overwrite_dir_non_dir = no_overwrite;
    auto st = extract_archive(r, req, p[0]);
    ::close(p[0]);
    return st;
  };
  ASSERT_TRUE(put("/ld", {{"f", false}}, true));  // through the symlinked dir
  EXPECT_EQ(*fs::read_file(root_ + "/d/f"), "new");
  auto ro = put("/mnt", {{"w", false}}, true);
  ASSERT_FALSE(ro);
  EXPECT_EQ(ro.error().msg, "mounted volume is marked read-only");
  EXPECT_FALSE(fs::exists(root_ + "/mnt/w"));
  auto clash = put("/d", {{"a", true}}, true);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().msg,
            "Error processing tar file(exit status 1): cannot overwrite non-directory \"/d/a\" with directory \"/d\"");
  auto clash2 = put("/d", {{"sub", false}}, true);
  ASSERT_FALSE(clash2);
  EXPECT_NE(clash2.error().msg.find("cannot overwrite directory \"/d/sub\" with non-directory \"/d\""), std::string::npos);
  ASSERT_TRUE(put("/d", {{"sub", false}}, false));  // without the flag a file replaces the dir
  EXPECT_EQ(*fs::read_file(root_ + "/d/sub"), "new");
  auto missing = put("/nope", {{"x", false}}, false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Errc::not_found);
  auto notdir = put("/d/a", {{"x", false}}, false);
  ASSERT_FALSE(notdir);
  EXPECT_EQ(notdir.error().msg, "extraction point is not a directory");
  auto escape = put("/d", {{"../../x", false}}, false);
  ASSERT_FALSE(escape);
  EXPECT_FALSE(fs::exists(dir_ + "/x"));
  EXPECT_FALSE(fs::exists(root_ + "/x"));
}

}  // namespace
}  // namespace berth::container

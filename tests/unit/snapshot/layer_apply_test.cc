#include "snapshot/layer_apply.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/id.h"
#include "unit/image/tar_builder.h"

using namespace berth;
using berth::testing::memfd_with;
using berth::testing::TarBuilder;

class LayerApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/img-apply-XXXXXX";
    base_ = ::mkdtemp(t);
    root_ = base_ + "/layer";
    outside_ = base_ + "/outside";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    root_fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  void TearDown() override { (void)fs::remove_all(base_); }

  Result<snapshot::ApplyResult> apply(const std::string& bytes) {
    auto fd = memfd_with(bytes);
    return snapshot::apply_tar(fd.get(), root_fd_.get());
  }
  std::string p(const std::string& rel) const { return root_ + "/" + rel; }
  bool outside_empty() const { return fs::list_dir(outside_).empty() && fs::list_dir(base_).size() == 2; }

  std::string base_, root_, outside_;
  UniqueFd root_fd_;
};

TEST_F(LayerApplyTest, ExtractsFilesDirsLinksModesAndTimes) {
  TarBuilder::Opts exe;
  exe.mode = 04755;
  exe.uid = 1000;
  exe.gid = 1001;
  exe.mtime = 1600000000;
  TarBuilder::Opts dmode;
  dmode.mode = 0710;
  dmode.mtime = 1500000000;
  TarBuilder::Opts priv;
  priv.mode = 0600;
  std::string tar = TarBuilder()
                        .dir("./")
                        .dir("./bin", dmode)
                        .file("./bin/tool", "#!/bin/sh\necho hi\n", exe)
                        .file("./etc/secret", "s3cr3t", priv)  // parent created implicitly
                        .symlink("./bin/link", "tool")
                        .symlink("./abs", "/etc/passwd")
                        .hardlink("./bin/tool2", "./bin/tool")
                        .fifo("./run/fifo")
                        .finish();
  auto r = apply(tar);
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->diff_id.str(), "sha256:" + sha256_hex(tar));
  // Regular files once (hard link not double-counted) + symlink target lengths.
  EXPECT_EQ(r->size, 18 + 6 + 4 + 11);

  struct stat st {};
  ASSERT_EQ(::lstat(p("bin/tool").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_nlink, 2u);
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_mode & 07777, 04755u);  // setuid survives the chown that precedes chmod
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1001u);
  }
  EXPECT_EQ(*fs::read_file(p("bin/tool")), "#!/bin/sh\necho hi\n");
  ASSERT_EQ(::lstat(p("etc/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::lstat(p("etc").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::lstat(p("bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0710u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);  // set after its children were created
  char buf[64] = {};
  ASSERT_GT(::readlink(p("bin/link").c_str(), buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "tool");
  char buf2[64] = {};
  ASSERT_GT(::readlink(p("abs").c_str(), buf2, sizeof buf2), 0);
  EXPECT_STREQ(buf2, "/etc/passwd");  // stored verbatim, never followed
  ASSERT_EQ(::lstat(p("run/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(LayerApplyTest, LaterEntriesReplaceEarlierOnes) {
  std::string tar = TarBuilder()
                        .file("a", "one")
                        .symlink("a", "elsewhere")
                        .dir("d")
                        .file("d/x", "x")
                        .file("d", "now a file")
                        .dir("keep")
                        .file("keep/y", "y")
                        .dir("keep")  // dir over dir keeps the contents
                        .finish();
  auto r = apply(tar);
  ASSERT_TRUE(r) << r.error().msg;
  struct stat st {};
  ASSERT_EQ(::lstat(p("a").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(*fs::read_file(p("d")), "now a file");
  EXPECT_EQ(*fs::read_file(p("keep/y")), "y");
}

TEST_F(LayerApplyTest, EveryCompressionGivesTheSameDiffId) {
  auto build = [](TarBuilder::Filter f) {
    return TarBuilder(f).dir("d").file("d/f", std::string(100000, 'z')).symlink("l", "d/f").finish();
  };
  const std::string plain = build(TarBuilder::Filter::none);
  const std::string want = "sha256:" + sha256_hex(plain);
  for (auto f : {TarBuilder::Filter::gzip, TarBuilder::Filter::bzip2, TarBuilder::Filter::xz,
                 TarBuilder::Filter::zstd}) {
    (void)fs::remove_all(root_);
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    root_fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::string bytes = build(f);
    ASSERT_NE(bytes, plain);
    auto r = apply(bytes);
    ASSERT_TRUE(r) << static_cast<int>(f) << ": " << r.error().msg;
    EXPECT_EQ(r->diff_id.str(), want) << static_cast<int>(f);
    EXPECT_EQ(fs::read_file(p("d/f"))->size(), 100000u);
  }
}

TEST_F(LayerApplyTest, EmptyStreamAndEmptyArchiveAreEmptyLayers) {
  auto r = apply("");
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->diff_id.str(), "sha256:" + sha256_hex(""));
  std::string zeros(1024, '\0');
  auto r2 = apply(zeros);
  ASSERT_TRUE(r2) << r2.error().msg;
  EXPECT_EQ(r2->diff_id.str(), "sha256:" + sha256_hex(zeros));
  EXPECT_TRUE(fs::list_dir(root_).empty());
}

TEST_F(LayerApplyTest, DotDotEscapeIsRejected) {
  auto r = apply(TarBuilder().file("../outside/escape", "x").finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid);
  EXPECT_NE(r.error().msg.find("escapes the layer root"), std::string::npos) << r.error().msg;
  EXPECT_TRUE(outside_empty());
  auto r2 = apply(TarBuilder().file("a/../../escape2", "x").finish());
  ASSERT_FALSE(r2);
  EXPECT_TRUE(outside_empty());
}

TEST_F(LayerApplyTest, AbsolutePathsStayInsideTheRoot) {
  std::string abs = outside_ + "/abs-file";
  auto r = apply(TarBuilder().file(abs, "x").finish());
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_FALSE(fs::exists(abs));
  EXPECT_EQ(*fs::read_file(root_ + abs), "x");
  EXPECT_TRUE(outside_empty());
}

TEST_F(LayerApplyTest, SymlinkThenFileThroughItCannotEscape) {
  auto r = apply(TarBuilder().symlink("evil", outside_).file("evil/file", "pwned").finish());
  EXPECT_FALSE(r);  // the link resolves inside the root, where nothing exists
  EXPECT_TRUE(outside_empty());
  EXPECT_FALSE(fs::exists(outside_ + "/file"));

  // A relative climb resolves to the layer root itself (chroot semantics).
  (void)fs::remove_all(root_);
  ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  root_fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto r2 = apply(TarBuilder().symlink("up", "../../../../..").file("up/outside/file2", "x").finish());
  ASSERT_TRUE(r2) << r2.error().msg;
  EXPECT_TRUE(outside_empty());
  EXPECT_EQ(*fs::read_file(p("outside/file2")), "x");

  // A dir symlink to "/" then a file: lands in the layer, not the host.
  (void)fs::remove_all(root_);
  ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  root_fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string host_target = outside_.substr(1) + "/rootlink-file";
  auto r3 = apply(TarBuilder().symlink("r", "/").file("r/" + host_target, "x").finish());
  ASSERT_TRUE(r3) << r3.error().msg;
  EXPECT_TRUE(outside_empty());
  EXPECT_TRUE(fs::exists(p(host_target)));
}

TEST_F(LayerApplyTest, HardLinkOutsideIsRejected) {
  struct stat before {};
  ASSERT_EQ(::stat("/etc/passwd", &before), 0);
  auto r = apply(TarBuilder().hardlink("pw", "/etc/passwd").finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid);
  EXPECT_NE(r.error().msg.find("not in the layer"), std::string::npos) << r.error().msg;
  struct stat after {};
  ASSERT_EQ(::stat("/etc/passwd", &after), 0);
  EXPECT_EQ(before.st_nlink, after.st_nlink);

  auto r2 = apply(TarBuilder().hardlink("pw2", "../outside/x").finish());
  ASSERT_FALSE(r2);
  // Through a symlink to a host directory: resolved inside the root → absent.
  auto r3 = apply(TarBuilder().symlink("etcl", "/etc").hardlink("pw3", "etcl/passwd").finish());
  ASSERT_FALSE(r3);
  ASSERT_EQ(::stat("/etc/passwd", &after), 0);
  EXPECT_EQ(before.st_nlink, after.st_nlink);
  EXPECT_TRUE(outside_empty());
}

TEST_F(LayerApplyTest, HardLinkToSymlinkLinksTheSymlinkItself) {
  auto r = apply(TarBuilder().symlink("s", "/etc/passwd").hardlink("h", "s").finish());
  ASSERT_TRUE(r) << r.error().msg;
  struct stat st {};
  ASSERT_EQ(::lstat(p("h").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(LayerApplyTest, TruncatedGzipIsRejected) {
  std::string gz = TarBuilder(TarBuilder::Filter::gzip).file("f", std::string(200000, 'q')).finish();
  auto r = apply(gz.substr(0, gz.size() / 2));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid);
  EXPECT_NE(r.error().msg.find("invalid tar archive"), std::string::npos) << r.error().msg;
  auto r2 = apply(gz.substr(0, 20));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().kind, Errc::invalid);
}

TEST_F(LayerApplyTest, NotATarIsRejected) {
  auto r = apply("this is not a tar archive, just some text\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid);
  auto r2 = apply(std::string(4096, 'x'));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().kind, Errc::invalid);
  EXPECT_TRUE(outside_empty());
}

TEST_F(LayerApplyTest, XattrsAreAppliedButOverlayOnesAreNot) {
  TarBuilder::Opts o;
  o.xattrs = {{"user.berth", "v1"}, {"trusted.overlay.redirect", "/x"}};
  auto r = apply(TarBuilder().file("f", "data", o).finish());
  ASSERT_TRUE(r) << r.error().msg;
  char buf[16] = {};
  ssize_t n = ::getxattr(p("f").c_str(), "user.berth", buf, sizeof buf);
  if (n < 0 && errno == ENOTSUP) GTEST_SKIP() << "no user xattrs on this filesystem";
  ASSERT_EQ(n, 2);
  EXPECT_EQ(std::string(buf, 2), "v1");
  EXPECT_LT(::getxattr(p("f").c_str(), "trusted.overlay.redirect", buf, sizeof buf), 0);
}

TEST_F(LayerApplyTest, WhiteoutsBecomeOverlayWhiteouts) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod of 0/0 and trusted.* xattrs need root";
  auto r = apply(TarBuilder()
                     .dir("etc")
                     .file("etc/.wh.gone", "")
                     .file("opq/.wh..wh..opq", "")
                     .file("opq/kept", "k")
                     .file(".wh..wh.plnk", "")
                     .finish());
  ASSERT_TRUE(r) << r.error().msg;
  struct stat st {};
  ASSERT_EQ(::lstat(p("etc/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_FALSE(fs::exists(p("etc/.wh.gone")));
  char v[4] = {};
  ASSERT_EQ(::getxattr(p("opq").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_FALSE(fs::exists(p(".wh..wh.plnk")));
  EXPECT_EQ(*fs::read_file(p("opq/kept")), "k");
}

TEST_F(LayerApplyTest, DeviceNodes) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  auto r = apply(TarBuilder().chardev("dev/null", 1, 3).finish());
  ASSERT_TRUE(r) << r.error().msg;
  struct stat st {};
  ASSERT_EQ(::lstat(p("dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(st.st_mode & 0777, 0666u);
}

TEST(ChainId, FollowsTheOciFormula) {
  auto a = *Digest::parse("sha256:" + std::string(64, 'a'));
  auto b = *Digest::parse("sha256:" + std::string(64, 'b'));
  EXPECT_EQ(snapshot::chain_id(nullptr, a), a);
  EXPECT_EQ(snapshot::chain_id(&a, b).str(), "sha256:" + sha256_hex(a.str() + " " + b.str()));
}

// gzip layers go through ISA-L's inflater (its own gzip parser and CRC
// check): the diff ID is the uncompressed stream's, concatenated members
// are one stream, and a broken CRC or a cut stream is refused.
namespace {
std::string gzip_of(const std::string& data) {
  char t[] = "/tmp/img-gz-XXXXXX";
  int out = ::mkstemp(t);
  ::close(out);
  const std::string plain = std::string(t) + ".in";
  EXPECT_TRUE(fs::write_file_atomic(plain, data, fs::Durability::none));
  std::string cmd = "gzip -1 -c <" + plain + " >" + t;
  EXPECT_EQ(::system(cmd.c_str()), 0);
  auto r = fs::read_file(t);
  ::unlink(t);
  ::unlink(plain.c_str());
  return r ? *r : "";
}
}  // namespace

TEST_F(LayerApplyTest, GzipThroughIsalKeepsTheDiffIdOfTheTar) {
  std::string big(3 << 20, 'a');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 23);
  std::string tar = TarBuilder().file("big", big).file("small", "x").finish();
  std::string gz = gzip_of(tar);
  ASSERT_GT(gz.size(), 20u);
  auto r = apply(gz);
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->diff_id.str(), "sha256:" + sha256_hex(tar));
  EXPECT_EQ(*fs::read_file(p("big")), big);
}

TEST_F(LayerApplyTest, ConcatenatedGzipMembersAreOneStream) {
  std::string tar = TarBuilder().file("a", std::string(100000, 'z')).file("b", "bee").finish();
  const size_t cut = 70000;
  std::string gz = gzip_of(tar.substr(0, cut)) + gzip_of(tar.substr(cut));
  auto r = apply(gz);
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->diff_id.str(), "sha256:" + sha256_hex(tar));
  EXPECT_EQ(*fs::read_file(p("b")), "bee");
}

TEST_F(LayerApplyTest, GzipWithABadCrcOrCutShortIsRefused) {
  std::string tar = TarBuilder().file("a", std::string(50000, 'k')).finish();
  std::string gz = gzip_of(tar);
  std::string bad = gz;
  bad[bad.size() - 6] ^= 0x55;  // the CRC32 in the trailer
  auto r = apply(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid);
  EXPECT_NE(r.error().msg.find("checksum"), std::string::npos) << r.error().msg;
  auto cut = apply(gz.substr(0, gz.size() / 2));
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().kind, Errc::invalid);
}

// Root/kernel-level checks of the image store: extracted whiteouts behave
// as overlayfs whiteouts under a real overlay mount, and a kill -9 at any
// moment of an import never leaves a half-visible image.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/id.h"
#include "image/image_store.h"
#include "snapshot/layer_apply.h"
#include "unit/image/tar_builder.h"

using namespace berth;
using berth::testing::memfd_with;
using berth::testing::TarBuilder;

namespace {

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/img-integ-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempDir() { (void)fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void apply_into(const std::string& dir, const std::string& tar) {
  ASSERT_TRUE(fs::mkdir_p(dir));
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto in = memfd_with(tar);
  auto r = snapshot::apply_tar(in.get(), dfd.get());
  ASSERT_TRUE(r) << r.error().msg;
}

}  // namespace

TEST(OverlayWhiteouts, HideLowerFilesUnderARealOverlayMount) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mknod, trusted xattrs, mount)";
  TempDir t;
  const std::string lower = t.path() + "/lower", upper = t.path() + "/upper", merged = t.path() + "/merged";
  apply_into(lower, TarBuilder()
                        .file("etc/gone", "lower")
                        .file("etc/stays", "lower")
                        .file("opq/old1", "lower")
                        .file("opq/old2", "lower")
                        .finish());
  apply_into(upper, TarBuilder()
                        .file("etc/.wh.gone", "")
                        .file("opq/.wh..wh..opq", "")
                        .file("opq/new", "upper")
                        .finish());
  ASSERT_TRUE(fs::mkdir_p(merged));
  std::string opts = "lowerdir=" + upper + ":" + lower;
  ASSERT_EQ(::mount("overlay", merged.c_str(), "overlay", MS_RDONLY, opts.c_str()), 0) << std::strerror(errno);
  const bool gone = fs::exists(merged + "/etc/gone");
  const std::string stays = fs::read_file(merged + "/etc/stays").value_or("");
  auto opq = fs::list_dir(merged + "/opq");
  ::umount2(merged.c_str(), MNT_DETACH);
  EXPECT_FALSE(gone);
  EXPECT_EQ(stays, "lower");
  EXPECT_EQ(opq, std::vector<std::string>{"new"});
}

TEST(ImportCrashSafety, KillNineAtAnyMomentLeavesNoHalfImage) {
  if (::geteuid() != 0) GTEST_SKIP() << "run with the integration suite as root";
  TempDir t;
  // Big enough that extraction, fsync and commit take a while.
  TarBuilder b(TarBuilder::Filter::gzip);
  for (int i = 0; i < 100; ++i) b.file("dir" + std::to_string(i % 10) + "/f" + std::to_string(i), std::string(20000, 'a' + i % 26));
  const std::string tar = b.finish();

  constexpr int kIters = 16;
  int completed = 0;
  long full_ns = 0;  // measured by iteration 0, which is never killed
  for (int iter = 0; iter < kIters; ++iter) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(p[1]);
      auto db = store::Db::open(t.path() + "/berth.db");
      if (!db) ::_exit(2);
      auto s = image::ImageStore::open(**db, t.path());
      if (!s) ::_exit(3);
      image::ImportOptions o;
      o.repo = "crash:" + std::to_string(iter);
      auto r = (*s)->import(p[0], o);
      ::_exit(r ? 0 : 4);
    }
    ::close(p[0]);
    struct timespec t0 {};
    ::clock_gettime(CLOCK_MONOTONIC, &t0);
    (void)fs::write_all(p[1], tar);
    ::close(p[1]);
    if (iter > 0 && iter < kIters - 1) {
      // Spread the kills over the whole import (open, extraction, fsyncs,
      // commit) and past its usual end; the first and last run unkilled.
      long delay = full_ns * 3 * iter / (2 * (kIters - 1));
      struct timespec ts {delay / 1'000'000'000L, delay % 1'000'000'000L};
      ::nanosleep(&ts, nullptr);
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (iter == 0) {
      struct timespec t1 {};
      ::clock_gettime(CLOCK_MONOTONIC, &t1);
      full_ns = (t1.tv_sec - t0.tv_sec) * 1'000'000'000L + (t1.tv_nsec - t0.tv_nsec);
    }
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0);
      ++completed;
    }

    // Reopen (the daemon's restart) and check every visible image is whole.
    auto db = store::Db::open(t.path() + "/berth.db");
    ASSERT_TRUE(db);
    auto s = image::ImageStore::open(**db, t.path());
    ASSERT_TRUE(s) << s.error().msg;
    for (const auto& img : (*s)->list()) {
      ASSERT_EQ(img.layer_dirs.size(), 1u);
      EXPECT_EQ(fs::list_dir(img.layer_dirs[0]).size(), 10u) << iter;
      EXPECT_EQ(fs::read_file(img.layer_dirs[0] + "/dir9/f99").value_or("").size(), 20000u) << iter;
      auto blob = fs::read_file(t.path() + "/content/blobs/sha256/" + img.id.substr(7));
      ASSERT_TRUE(blob) << iter;
      EXPECT_EQ("sha256:" + sha256_hex(*blob), img.id);
    }
    for (const auto& name : fs::list_dir(t.path() + "/overlay")) EXPECT_TRUE(is_hex64(name)) << name;
    EXPECT_TRUE(fs::list_dir(t.path() + "/content/ingest").empty());
    auto tagged = (*s)->resolve("crash:" + std::to_string(iter));
    if (WIFEXITED(status)) {
      EXPECT_TRUE(tagged) << iter;
    }
  }
  // The schedule must have caught some imports before they completed.
  EXPECT_GE(completed, 2);
  EXPECT_LT(completed, kIters);
}

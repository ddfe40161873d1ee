#include <gtest/gtest.h>

#include "container/changes.h"
#include "container/host_devices.h"
#include "container/runtime_cmd.h"
#include "container/stats.h"

using namespace berth;
using namespace berth::container;

TEST(HostDevices, CapsFromMaskFollowKernelNumbering) {
  EXPECT_EQ(caps_from_mask(0x1), std::vector<std::string>({"CAP_CHOWN"}));
  // Docker's default set
  auto d = caps_from_mask(0xa80425fbULL);
  EXPECT_EQ(d.size(), 14u);
  EXPECT_EQ(d.back(), "CAP_SETFCAP");
  auto all = caps_from_mask(0x1ffffffffffULL);
  EXPECT_EQ(all.size(), 41u);
  EXPECT_EQ(all.back(), "CAP_CHECKPOINT_RESTORE");
}

TEST(HostDevices, DeviceFromHostAndMissingDevice) {
  auto d = device_from_host("/dev/null", "/dev/mynull", "rw");
  ASSERT_TRUE(d) << d.error().msg;
  EXPECT_EQ((*d)["path"], "/dev/mynull");
  EXPECT_EQ((*d)["type"], "c");
  EXPECT_EQ((*d)["major"], 1);
  EXPECT_EQ((*d)["minor"], 3);
  EXPECT_EQ((*d)["access"], "rw");
  auto m = device_from_host("/dev/does-not-exist", "", "rwm");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().msg,
            "error gathering device information while adding custom device \"/dev/does-not-exist\": no such file or directory");
  EXPECT_FALSE(device_from_host("/etc/hostname", "", "rwm"));
}

TEST(Stats, ParsePsOutputKeepsTheContainersRows) {
  std::string out =
      "UID        PID  PPID  C STIME TTY          TIME CMD\n"
      "root         1     0  0 10:00 ?        00:00:01 /sbin/init\n"
      "root      4242  4200  0 10:01 ?        00:00:00 sleep 77 with args\n";
  auto j = parse_ps_output(out, {4242});
  ASSERT_TRUE(j) << j.error().msg;
  EXPECT_EQ((*j)["Titles"], Json({"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}));
  ASSERT_EQ((*j)["Processes"].size(), 1u);
  EXPECT_EQ((*j)["Processes"][0][7], "sleep 77 with args");
  EXPECT_FALSE(parse_ps_output("USER COMMAND\nroot x\n", {1}));
}

TEST(Stats, FlatKeyedAndOwnSample) {
  auto m = parse_flat_keyed("user 10\nsystem 20\n\nbad\n");
  EXPECT_EQ(m["user"], 10u);
  EXPECT_EQ(m["system"], 20u);
  EXPECT_EQ(m.size(), 2u);
  Json s = read_stats_sample(getpid());
  for (const char* k : {"read", "pids_stats", "cpu_stats", "memory_stats", "blkio_stats"})
    EXPECT_TRUE(s.contains(k)) << k;
  EXPECT_GT(s["cpu_stats"]["system_cpu_usage"].get<uint64_t>(), 0u);
}

TEST(RuntimeCmd, ErrorMessageFromRuncOutputs) {
  EXPECT_EQ(runtime_error_message("time=\"x\" level=error msg=\"container \\\"a\\\" is not running\"\n"),
            "container \"a\" is not running");
  EXPECT_EQ(runtime_error_message("{\"level\":\"error\",\"msg\":\"boom\"}\n"), "boom");
  EXPECT_EQ(runtime_error_message("first\nlast line\n\n"), "last line");
  auto r = run_command({"/bin/sh", "-c", "cat; echo err >&2; exit 3"}, "in");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 3);
  EXPECT_EQ(r->out, "in");
  EXPECT_EQ(r->err, "err\n");
}

TEST(Changes, UpperDirAgainstLowers) {
  char tmpl[] = "/tmp/berth-changes-XXXXXX";
  std::string root = ::mkdtemp(tmpl);
  auto sh = [](const std::string& c) { ASSERT_EQ(std::system(c.c_str()), 0) << c; };
  sh("mkdir -p " + root + "/lower/etc " + root + "/lower/bin " + root + "/upper/etc " + root + "/upper/new/sub");
  sh("touch " + root + "/lower/etc/passwd " + root + "/lower/bin/zcat " + root + "/upper/etc/passwd " +
     root + "/upper/new/sub/f");
  sh("mknod " + root + "/upper/bin 2>/dev/null; mkdir -p " + root + "/upper/bin && mknod " + root + "/upper/bin/zcat c 0 0");
  Json c = upper_changes(root + "/upper", {root + "/lower"});
  Json want = Json::parse(R"([{"Path":"/bin","Kind":0},{"Path":"/bin/zcat","Kind":2},{"Path":"/etc","Kind":0},
    {"Path":"/etc/passwd","Kind":0},{"Path":"/new","Kind":1},{"Path":"/new/sub","Kind":1},{"Path":"/new/sub/f","Kind":1}])");
  EXPECT_EQ(c, want);
  EXPECT_EQ(dir_size(root + "/upper"), 0);
  sh("printf 12345 > " + root + "/upper/new/sub/f");
  EXPECT_EQ(dir_size(root + "/upper"), 5);
  sh("rm -rf " + root);
}

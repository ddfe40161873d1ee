#include "oci/spec.h"

#include <gtest/gtest.h>

namespace berth::oci {
namespace {

Json good() {
  return Json::parse(R"({
    "ociVersion": "1.0.2",
    "process": {"terminal": false, "user": {"uid": 1000, "gid": 100, "additionalGids": [5, 6], "umask": 18},
                "args": ["sh", "-c", "true"], "env": ["PATH=/bin", "A=b"], "cwd": "/work",
                "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
                "noNewPrivileges": true, "oomScoreAdj": 100},
    "root": {"path": "rootfs", "readonly": true},
    "hostname": "box",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "ro"]}],
    "annotations": {"a": "b"},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"},
                             {"type": "network", "path": "/var/run/netns/x"}],
              "cgroupsPath": "/berth/x",
              "resources": {"memory": {"limit": 1048576}, "cpu": {"shares": 512, "quota": 50000, "period": 100000},
                            "pids": {"limit": 64},
                            "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]},
              "sysctl": {"net.ipv4.ip_forward": "1"},
              "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
              "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}}
  })");
}

std::string error_of(const Json& j) {
  auto s = parse_spec_json(j);
  if (!s) return s.error().msg;
  auto v = validate_spec(*s);
  return v ? "" : v.error().msg;
}

TEST(Spec, ParsesGoodConfig) {
  auto s = parse_spec_json(good());
  ASSERT_TRUE(s) << s.error().msg;
  ASSERT_TRUE(validate_spec(*s));
  EXPECT_EQ(s->process->user.uid, 1000u);
  EXPECT_EQ(s->process->user.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(*s->process->user.umask, 18u);
  EXPECT_EQ(s->process->args[2], "true");
  EXPECT_EQ(s->process->cwd, "/work");
  EXPECT_EQ(s->process->rlimits[0].soft, 512u);
  EXPECT_EQ(*s->process->oom_score_adj, 100);
  EXPECT_TRUE(s->root.readonly);
  EXPECT_EQ(s->mounts[1].options, (std::vector<std::string>{"rbind", "ro"}));
  const auto& l = *s->linux_spec;
  ASSERT_EQ(l.namespaces.size(), 4u);
  EXPECT_EQ(l.namespaces[3].type, NsType::network);
  EXPECT_EQ(l.namespaces[3].path, "/var/run/netns/x");
  EXPECT_EQ(*l.resources->memory->limit, 1048576);
  EXPECT_EQ(*l.resources->pids_limit, 64);
  EXPECT_EQ(l.resources->devices.size(), 2u);
  EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
  ASSERT_TRUE(l.seccomp);
  EXPECT_EQ(l.seccomp->syscalls[0].names[0], "read");
  EXPECT_TRUE(s->unsupported.empty());
}

TEST(Spec, RejectsUnknownNamespace) {
  auto j = good();
  j["linux"]["namespaces"][2]["type"] = "foo";
  EXPECT_EQ(error_of(j), "linux.namespaces[2].type: unknown namespace \"foo\"");
}

TEST(Spec, RejectsWrongJsonTypes) {
  auto j = good();
  j["process"]["args"] = "sh";
  EXPECT_EQ(error_of(j), "process.args: expected array of strings");
  j = good();
  j["process"]["user"]["uid"] = "root";
  EXPECT_EQ(error_of(j), "process.user.uid: expected integer");
  j = good();
  j["process"]["user"]["uid"] = -1;
  EXPECT_EQ(error_of(j), "process.user.uid: value out of range");
  j = good();
  j["mounts"][1]["options"][0] = 3;
  EXPECT_EQ(error_of(j), "mounts[1].options[0]: expected string");
  j = good();
  j["linux"]["resources"]["memory"]["limit"] = "1g";
  EXPECT_EQ(error_of(j), "linux.resources.memory.limit: expected integer");
  j = good();
  j["root"] = "rootfs";
  EXPECT_EQ(error_of(j), "root: expected object");
}

TEST(Spec, RejectsUidMappingsWithoutUserNamespace) {
  auto j = good();
  j["linux"]["uidMappings"] = Json::parse(R"([{"containerID":0,"hostID":1000,"size":1}])");
  EXPECT_EQ(error_of(j), "linux.uidMappings: requires a new user namespace in linux.namespaces");
}

TEST(Spec, RejectsRelativeMountDestination) {
  auto j = good();
  j["mounts"][0]["destination"] = "proc";
  EXPECT_EQ(error_of(j), "mounts[0].destination: must be an absolute path, got \"proc\"");
}

TEST(Spec, RequiresRootAndArgs) {
  auto j = good();
  j.erase("root");
  EXPECT_EQ(error_of(j), "root: required");
  j = good();
  j["process"]["args"] = Json::array();
  EXPECT_EQ(error_of(j), "process.args: must not be empty");
  j = good();
  j["process"]["cwd"] = "work";
  EXPECT_EQ(error_of(j), "process.cwd: must be an absolute path");
}

TEST(Spec, RejectsDuplicateNamespaceAndHostnameWithoutUts) {
  auto j = good();
  j["linux"]["namespaces"].push_back(Json{{"type", "pid"}});
  EXPECT_EQ(error_of(j), "linux.namespaces[4].type: duplicate namespace \"pid\"");
  j = good();
  j["linux"]["namespaces"].erase(2);
  EXPECT_EQ(error_of(j), "hostname: setting the hostname requires a uts namespace");
}

TEST(Spec, RecordsUnsupportedFieldsInsteadOfIgnoringThem) {
  auto j = good();
  j["linux"]["resources"]["network"] = Json::parse(R"({"classID":1})");
  j["process"]["apparmorProfile"] = "docker-default";
  auto s = parse_spec_json(j);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->unsupported, (std::vector<std::string>{"process.apparmorProfile", "linux.resources.network"}));
  // Empty values are not "set".
  j = good();
  j["process"]["apparmorProfile"] = "";
  j["linux"]["resources"]["network"] = Json::object();
  s = parse_spec_json(j);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->unsupported.empty());
}

TEST(Spec, HugepageLimitsAndBlockIODevices) {
  auto j = good();
  j["linux"]["resources"]["hugepageLimits"] = Json::parse(R"([{"pageSize":"2MB","limit":4194304}])");
  j["linux"]["resources"]["blockIO"] = Json::parse(
      R"({"weight":300,"weightDevice":[{"major":8,"minor":0,"weight":500}],)"
      R"("throttleReadBpsDevice":[{"major":8,"minor":16,"rate":1048576}]})");
  auto s = parse_spec_json(j);
  ASSERT_TRUE(s) << s.error().msg;
  const auto& r = *s->linux_spec->resources;
  ASSERT_EQ(r.hugepage_limits.size(), 1u);
  EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(r.hugepage_limits[0].limit, 4194304u);
  ASSERT_EQ(r.weight_devices.size(), 1u);
  EXPECT_EQ(*r.weight_devices[0].weight, 500);
  ASSERT_EQ(r.throttle_read_bps.size(), 1u);
  EXPECT_EQ(r.throttle_read_bps[0].minor, 16);
  EXPECT_EQ(r.throttle_read_bps[0].rate, 1048576u);
  j["linux"]["resources"]["blockIO"]["throttleReadBpsDevice"][0].erase("rate");
  EXPECT_EQ(error_of(j), "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required");
  j = good();
  j["linux"]["resources"]["hugepageLimits"] = Json::parse(R"([{"pageSize":"../x","limit":1}])");
  EXPECT_EQ(error_of(j), "linux.resources.hugepageLimits[0].pageSize: invalid page size \"../x\"");
}

TEST(Spec, NullMeansAbsent) {
  auto j = good();
  j["linux"]["resources"]["memory"] = nullptr;
  j["hooks"] = nullptr;
  auto s = parse_spec_json(j);
  ASSERT_TRUE(s) << s.error().msg;
  EXPECT_FALSE(s->linux_spec->resources->memory);
}

TEST(Spec, DockerUnsetSwappiness) {
  auto j = good();
  j["linux"]["resources"]["memory"]["swappiness"] = -1;
  auto s = parse_spec_json(j);
  ASSERT_TRUE(s) << s.error().msg;
  EXPECT_FALSE(s->linux_spec->resources->memory->swappiness);
  j["linux"]["resources"]["memory"]["swappiness"] = UINT64_MAX;
  s = parse_spec_json(j);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->linux_spec->resources->memory->swappiness);
  j["linux"]["resources"]["memory"]["swappiness"] = 60;
  s = parse_spec_json(j);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s->linux_spec->resources->memory->swappiness, 60u);
}

TEST(Spec, InvalidJsonText) {
  auto s = parse_spec("{\"ociVersion\": ");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().msg.rfind("invalid JSON", 0), 0u);
}

TEST(Spec, HooksParsed) {
  auto j = good();
  j["hooks"] = Json::parse(R"({"prestart":[{"path":"/bin/hook","args":["hook","a"],"timeout":5}],
                               "poststop":[{"path":"relative"}]})");
  EXPECT_EQ(error_of(j), "hooks.poststop[0].path: must be absolute");
  j["hooks"].erase("poststop");
  auto s = parse_spec_json(j);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->hooks.prestart[0].args[1], "a");
  EXPECT_EQ(*s->hooks.prestart[0].timeout, 5);
}

}  // namespace
}  // namespace berth::oci

namespace berth::oci {
namespace {

TEST(Spec, SchedulerAffinityMemoryPolicyTimeOffsetsAndNotify) {
  auto j = good();
  j["process"]["scheduler"] = Json::parse(R"({"policy": "SCHED_BATCH", "nice": 5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]})");
  j["process"]["execCPUAffinity"] = Json::parse(R"({"initial": "0", "final": "1-3"})");
  j["linux"]["namespaces"].push_back(Json::parse(R"({"type": "time"})"));
  j["linux"]["timeOffsets"] = Json::parse(R"({"boottime": {"secs": 100, "nanosecs": 7}})");
  j["linux"]["memoryPolicy"] = Json::parse(R"({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]})");
  j["linux"]["seccomp"]["listenerPath"] = "/run/agent.sock";
  j["linux"]["seccomp"]["listenerMetadata"] = "m";
  auto s = parse_spec_json(j);
  ASSERT_TRUE(s) << s.error().msg;
  ASSERT_TRUE(validate_spec(*s));
  EXPECT_TRUE(s->unsupported.empty());
  EXPECT_EQ(s->process->scheduler->policy, "SCHED_BATCH");
  EXPECT_EQ(s->process->scheduler->nice, 5);
  EXPECT_EQ(s->process->exec_cpu_affinity->final_cpus, "1-3");
  EXPECT_TRUE(s->linux_spec->has_ns(NsType::time));
  EXPECT_EQ(s->linux_spec->time_offsets.at("boottime").secs, 100);
  EXPECT_EQ(s->linux_spec->time_offsets.at("boottime").nanosecs, 7u);
  EXPECT_EQ(s->linux_spec->memory_policy->mode, "MPOL_BIND");
  EXPECT_EQ(s->linux_spec->seccomp->listener_path, "/run/agent.sock");
  EXPECT_EQ(s->linux_spec->seccomp->listener_metadata, "m");
}

TEST(Spec, RejectsBadTimeOffsetsAndScheduler) {
  auto j = good();
  j["linux"]["timeOffsets"] = Json::parse(R"({"realtime": {"secs": 1}})");
  EXPECT_EQ(error_of(j), "linux.timeOffsets.realtime: unknown clock (monotonic or boottime)");
  j["linux"]["timeOffsets"] = Json::parse(R"({"boottime": {"secs": 1}})");
  EXPECT_EQ(error_of(j), "linux.timeOffsets: requires a new time namespace in linux.namespaces");
  j["linux"]["namespaces"].push_back(Json::parse(R"({"type": "time", "path": "/proc/1/ns/time"})"));
  EXPECT_EQ(error_of(j), "linux.timeOffsets: cannot be set when joining an existing time namespace");
  j = good();
  j["process"]["scheduler"] = Json::parse(R"({"nice": 5})");
  EXPECT_EQ(error_of(j), "process.scheduler.policy: required");
  j["process"]["scheduler"] = Json::parse(R"({"policy": "SCHED_OTHER", "nice": 40})");
  EXPECT_EQ(error_of(j), "process.scheduler.nice: must be between -20 and 19");
  j = good();
  j["linux"]["seccomp"]["listenerPath"] = "relative.sock";
  EXPECT_EQ(error_of(j), "linux.seccomp.listenerPath: must be an absolute path");
}

}  // namespace
}  // namespace berth::oci

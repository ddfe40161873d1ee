#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.h"
#include "common/sealed_copy.h"
#include "shim/console_socket.h"
#include "sys/unix_socket.h"
#include "shim/options.h"
#include "shim/protocol.h"
#include "shim/runtime_cli.h"

namespace berth::shim {
namespace {

Result<Options> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "berth-shim");
  return parse_options(static_cast<int>(args.size()), args.data());
}

const std::vector<const char*> kBase = {"--id", "abc123", "--bundle", "/b", "--runtime", "/usr/sbin/runc",
                                        "--runtime-root", "/r", "--socket", "/s.sock", "--state-dir", "/st",
                                        "--log-path", "/l.json"};

TEST(Options, ParsesAllFlags) {
  auto a = kBase;
  a.insert(a.end(), {"--tty", "--stdin", "--stdin-once", "--log-driver=json-file"});
  auto o = parse(a);
  ASSERT_TRUE(o) << o.error().msg;
  EXPECT_EQ(o->id, "abc123");
  EXPECT_EQ(o->bundle, "/b");
  EXPECT_EQ(o->runtime, "/usr/sbin/runc");
  EXPECT_EQ(o->log_path, "/l.json");
  EXPECT_TRUE(o->tty && o->stdin_open && o->stdin_once);
  EXPECT_EQ(o->log_driver, LogDriverKind::json_file);
}

TEST(Options, RunFlag) {
  auto o = parse(kBase);
  ASSERT_TRUE(o) << o.error().msg;
  EXPECT_FALSE(o->run_now);
  auto a = kBase;
  a.push_back("--run");
  o = parse(a);
  ASSERT_TRUE(o) << o.error().msg;
  EXPECT_TRUE(o->run_now);
  a.insert(a.end(), {"--exec-process", "/p.json"});
  auto r = parse(a);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().msg.find("--run and --exec-process"), std::string::npos);
  a = kBase;
  a.push_back("--run=1");
  EXPECT_FALSE(parse(a));
  a = kBase;
  a.insert(a.end(), {"--runtime-fd", "3"});
  o = parse(a);
  ASSERT_TRUE(o) << o.error().msg;
  EXPECT_EQ(o->runtime_fd, 3);
  for (const char* bad : {"2", "x", "-1"}) {
    a = kBase;
    a.insert(a.end(), {"--runtime-fd", bad});
    EXPECT_FALSE(parse(a)) << bad;
  }
}

TEST(Options, RelativePathsBecomeAbsolute) {
  auto o = parse({"--id", "x", "--bundle", "bundle", "--runtime", "runc", "--runtime-root", "r",
                  "--socket", "s", "--state-dir", "st", "--log-driver", "none"});
  ASSERT_TRUE(o) << o.error().msg;
  EXPECT_EQ(o->bundle[0], '/');
  EXPECT_EQ(o->runtime, "runc");  // looked up on PATH
  EXPECT_EQ(o->log_driver, LogDriverKind::none);
}

TEST(Options, Errors) {
  EXPECT_FALSE(parse({"--id", "x"}));
  auto a = kBase;
  a.push_back("--frobnicate");
  EXPECT_FALSE(parse(a));
  a = kBase;
  a.insert(a.end(), {"--log-driver", "syslog"});
  EXPECT_FALSE(parse(a));
  a = kBase;
  a.push_back("--stdin-once");
  auto r = parse(a);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().msg.find("--stdin-once requires --stdin"), std::string::npos);
  a = {"--id", "../x", "--bundle", "/b", "--runtime", "/r", "--runtime-root", "/r", "--socket", "/s",
       "--state-dir", "/st", "--log-driver", "none"};
  EXPECT_FALSE(parse(a));
  // json-file needs a path
  a = {"--id", "x", "--bundle", "/b", "--runtime", "/r", "--runtime-root", "/r", "--socket", "/s",
       "--state-dir", "/st"};
  EXPECT_FALSE(parse(a));
  std::string longsock = "/" + std::string(120, 's');
  a = kBase;
  a.insert(a.end(), {"--socket", longsock.c_str()});
  EXPECT_FALSE(parse(a));
  a = kBase;
  a.push_back("--tty=yes");
  EXPECT_FALSE(parse(a));
}

TEST(Protocol, ParsesRequests) {
  auto r = parse_request(R"({"op":"kill","signal":15,"all":true})");
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->op, Op::kill);
  EXPECT_EQ(r->signal, 15);
  EXPECT_TRUE(r->all);
  r = parse_request(R"({"op":"attach","stdin":true,"stdout":true,"stderr":false})" "\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->op, Op::attach);
  EXPECT_TRUE(r->attach_stdin && r->attach_stdout);
  EXPECT_FALSE(r->attach_stderr);
  r = parse_request(R"({"op":"resize","height":24,"width":80})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->height, 24);
  EXPECT_EQ(r->width, 80);
  for (const char* op : {"start", "state", "wait", "shutdown"}) {
    auto q = parse_request(std::string("{\"op\":\"") + op + "\"}");
    EXPECT_TRUE(q) << op;
  }
}

TEST(Protocol, RejectsBadRequests) {
  EXPECT_FALSE(parse_request("not json"));
  EXPECT_FALSE(parse_request("[1]"));
  EXPECT_FALSE(parse_request(R"({"op":"dance"})"));
  EXPECT_FALSE(parse_request(R"({"signal":9})"));
  EXPECT_FALSE(parse_request(R"({"op":"kill"})"));
  EXPECT_FALSE(parse_request(R"({"op":"kill","signal":"KILL"})"));
  EXPECT_FALSE(parse_request(R"({"op":"kill","signal":0})"));
  EXPECT_FALSE(parse_request(R"({"op":"resize","height":24})"));
  EXPECT_FALSE(parse_request(R"({"op":"attach","stdin":"yes"})"));
}

TEST(Protocol, Replies) {
  EXPECT_EQ(reply_ok(), "{\"ok\":true}\n");
  auto j = parse_json(reply_ok({{"pid", 42}}));
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["pid"], 42);
  EXPECT_EQ((*j)["ok"], true);
  j = parse_json(reply_error("container x is not running"));
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["ok"], false);
  EXPECT_EQ((*j)["error"], "container x is not running");
  EXPECT_EQ(reply_error("a\nb").find('\n'), reply_error("a\nb").size() - 1);
}

TEST(RuntimeCli, LastErrorFromJsonLog) {
  std::string log =
      "{\"level\":\"warning\",\"msg\":\"w\",\"time\":\"t\"}\n"
      "{\"level\":\"error\",\"msg\":\"first\",\"time\":\"t\"}\n"
      "garbage line with \"error\"\n"
      "{\"level\":\"error\",\"msg\":\"runc create failed: exec: \\\"nope\\\": executable file not found in $PATH\",\"time\":\"t\"}\n"
      "{\"level\":\"info\",\"msg\":\"later\"}\n";
  EXPECT_EQ(last_runtime_error(log),
            "runc create failed: exec: \"nope\": executable file not found in $PATH");
  EXPECT_EQ(last_runtime_error("{\"level\":\"info\",\"msg\":\"x\"}\n"), "");
  EXPECT_EQ(last_runtime_error(""), "");
}

TEST(RuntimeCli, RunsABinaryAndCapturesItsFailure) {
  char tmpl[] = "/tmp/shim-unit-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string script = dir + "/fake-runtime";
  // A runc-compatible stand-in: logs an error for "start", succeeds otherwise.
  ASSERT_TRUE(fs::write_file_atomic(
      script,
      "#!/bin/sh\n"
      "log=$4\n"
      "case \"$7\" in\n"
      "  start) echo '{\"level\":\"error\",\"msg\":\"cannot start: boom\"}' >> $log; exit 1;;\n"
      "  kill) echo 'plain stderr failure' >&2; exit 1;;\n"
      "  *) exit 0;;\n"
      "esac\n",
      fs::Durability::none, 0755));
  RuntimeCli rt(script, dir + "/root", dir + "/runtime.log");
  EXPECT_TRUE(rt.run_checked({"delete", "x"}));
  auto st = rt.run_checked({"start", "x"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().msg, "cannot start: boom");
  st = rt.run_checked({"kill", "x", "9"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().msg, "plain stderr failure");
  RuntimeCli missing(dir + "/does-not-exist", dir, dir + "/runtime.log");
  st = missing.run_checked({"state", "x"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().msg,
            "exec of the OCI runtime failed: " + dir + "/does-not-exist: No such file or directory");
  auto o = missing.run({"state", "x"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(WIFEXITED(o->wait_status) && WEXITSTATUS(o->wait_status) == 127);
  (void)fs::remove_all(dir);
}

// The runtime is spawned without fork() (clone CLONE_VM|CLONE_VFORK: the
// child shares our memory until it execs), so running it causes no copy-on-write faults in
// the shim; with fork every page the shim then writes faults (~15 us each
// on a VM). Its stdio, signal state and cwd are what they were with fork.
TEST(RuntimeCli, SpawnsWithoutForkAndWithCleanSignals) {
  char tmpl[] = "/tmp/shim-unit-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string script = dir + "/fake-runtime";
  ASSERT_TRUE(fs::write_file_atomic(script,
                                    "#!/bin/sh\n"
                                    "grep -E '^Sig(Ign|Blk)' /proc/$$/status | tr '\\n\\t' '  '\n"
                                    "pwd\n",
                                    fs::Durability::none, 0755));
  RuntimeCli rt(script, dir + "/root", dir + "/runtime.log");
  // As in the shim: SIGPIPE ignored, SIGCHLD blocked (its signalfd).
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  sigset_t chld, old_mask;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, &old_mask);
  auto o = rt.run({"state", "x"});
  ASSERT_TRUE(o);
  char cwd[4096];
  ASSERT_TRUE(::getcwd(cwd, sizeof cwd));
  // Nothing ignored or blocked: SIGPIPE is back to default, the mask empty.
  EXPECT_EQ(o->captured, "SigBlk: 0000000000000000 SigIgn: 0000000000000000 " + std::string(cwd) + "\n");
  // Warm up, then count our own minor faults over 20 runs.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rt.run({"state", "x"}));
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(rt.run({"state", "x"}));
  ::getrusage(RUSAGE_SELF, &after);
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  ::signal(SIGPIPE, old_pipe);
  long faults = after.ru_minflt - before.ru_minflt;
  std::printf("minor faults in the parent over 20 runtime runs: %ld\n", faults);
  EXPECT_LT(faults, 40);
  (void)fs::remove_all(dir);
}

// berth-runtime's create/exec are executed from a sealed memfd copy the shim
// makes (the runtime then skips its own copy and re-exec); other commands and
// other runtimes run from their path. The copy is not inherited as an fd.
TEST(RuntimeCli, RunsBerthRuntimeCreateFromASealedCopy) {
  char tmpl[] = "/tmp/shim-unit-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto probe = fs::read_file(SEALED_PROBE);
  ASSERT_TRUE(probe);
  ASSERT_TRUE(fs::write_file_atomic(dir + "/berth-runtime", *probe, fs::Durability::none, 0755));
  ASSERT_TRUE(fs::write_file_atomic(dir + "/other-runtime", *probe, fs::Durability::none, 0755));
  RuntimeCli rt(dir + "/berth-runtime", dir + "/root", dir + "/runtime.log");
  for (const char* cmd : {"create", "run", "exec"}) {
    auto o = rt.run({cmd, "x"});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->captured, "sealed memfds=0\n") << cmd;
  }
  for (const char* cmd : {"start", "delete", "state"}) {
    auto o = rt.run({cmd, "x"});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->captured, "plain memfds=0\n") << cmd;
  }
  RuntimeCli other(dir + "/other-runtime", dir + "/root", dir + "/runtime.log");
  auto o = other.run({"create", "x"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->captured, "plain memfds=0\n");
  (void)fs::remove_all(dir);
}

// berthd's shared sealed copy (--runtime-fd): every command executes it
// (create/run/exec, and start/kill/delete/state too), not the file (replaced
// here by a script that would say so), and it is not inherited; an unsealed
// fd is refused.
TEST(RuntimeCli, RunsBerthRuntimeFromAnAdoptedSealedCopy) {
  char tmpl[] = "/tmp/shim-unit-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto probe = fs::read_file(SEALED_PROBE);
  ASSERT_TRUE(probe);
  ASSERT_TRUE(fs::write_file_atomic(dir + "/probe", *probe, fs::Durability::none, 0755));
  UniqueFd src(::open((dir + "/probe").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(src);
  auto copy = sealed_copy_of(src.get());
  ASSERT_TRUE(copy);
  ASSERT_TRUE(fs::write_file_atomic(dir + "/berth-runtime", "#!/bin/sh\necho from-the-file\n",
                                    fs::Durability::none, 0755));
  RuntimeCli rt(dir + "/berth-runtime", dir + "/root", dir + "/runtime.log");
  UniqueFd plain(::open((dir + "/probe").c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_FALSE(rt.adopt_sealed_copy(plain.get()));
  ASSERT_TRUE(rt.adopt_sealed_copy(copy->get()));
  for (const char* cmd : {"create", "run", "exec", "start", "kill", "delete", "state"}) {
    auto o = rt.run({cmd, "x"});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->captured, "sealed memfds=0\n") << cmd;
    auto q = rt.with_log("/dev/null").run({cmd, "x"});
    ASSERT_TRUE(q);
    EXPECT_EQ(q->captured, "sealed memfds=0\n") << cmd;
  }
  // The runtime's comm is the copy's name (execveat of the fd, not an exec
  // of /proc/self/fd/N, which would name it "N").
  ::setenv("SEALED_PROBE_COMM", "1", 1);
  auto named = rt.run({"state", "x"});
  ::unsetenv("SEALED_PROBE_COMM");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->captured, "sealed memfds=0 comm=memfd:berth-run\n");
  // Without an adopted copy, those still run from the file.
  RuntimeCli own(dir + "/berth-runtime", dir + "/root", dir + "/runtime.log");
  auto d = own.run({"delete", "x"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->captured, "from-the-file\n");
  (void)fs::remove_all(dir);
}

TEST(ConsoleSocket, ReceivesAFileDescriptor) {
  char tmpl[] = "/tmp/shim-unit-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto cs = make_console_socket(dir);
  ASSERT_TRUE(cs) << cs.error().msg;
  EXPECT_EQ(cs->path(), dir + "/console.sock");
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd client(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, cs->path().c_str());
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(sys::send_fd(client.get(), p[1], "/dev/pts/7"), 0);
  auto fd = cs->receive_master(1000);
  ASSERT_TRUE(fd) << fd.error().msg;
  ASSERT_EQ(::write(fd->get(), "x", 1), 1);  // the received fd is the pipe's write end
  char c = 0;
  ASSERT_EQ(::read(p[0], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  ::close(p[0]);
  ::close(p[1]);
  (void)fs::remove_all(dir);
}

TEST(ConsoleSocket, LongStateDirFallsBackToTmp) {
  std::string longdir = "/tmp/" + std::string(110, 'd');
  auto cs = make_console_socket(longdir);
  ASSERT_TRUE(cs) << cs.error().msg;
  EXPECT_LT(cs->path().size(), 108u);
  EXPECT_EQ(cs->path().rfind("/tmp/berth-shim-", 0), 0u);
}

}  // namespace
}  // namespace berth::shim

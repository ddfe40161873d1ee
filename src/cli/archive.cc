// berth cp, export, diff, container prune: the docker CLI's behaviour over
// the archive API (GET/HEAD/PUT /containers/{id}/archive), export, changes
// and prune.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "cli/format.h"
#include "client/client.h"
#include "common/fs.h"
#include "common/base64.h"
#include "common/strings.h"
#include "common/unique_fd.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kCp{"cp", "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
                          "Copy files/folders between a container and the local filesystem",
                          "Copy files/folders between a container and the local filesystem\n\n"
                          "Use '-' as the source to read a tar archive from stdin\n"
                          "and extract it to a directory destination in a container.\n"
                          "Use '-' as the destination to stream a tar archive of a\n"
                          "container source to stdout."};
constexpr CommandSpec kExport{"export", "export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive"};
constexpr CommandSpec kDiff{"diff", "diff CONTAINER", "Inspect changes to files or directories on a container's filesystem"};
constexpr CommandSpec kPrune{"container prune", "container prune [OPTIONS]", "Remove all stopped containers"};

const char* aerr(struct archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "archive error";
}

std::string cpath(const std::string& name) { return "/containers/" + client::path_escape(name); }

struct WriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct ReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

// "ctr:/path" → (ctr, path); a local path has no ':' before its first '/'
// (docker's splitCpArg).
bool split_cp_arg(const std::string& arg, std::string* ctr, std::string* path) {
  if (!arg.empty() && (arg[0] == '/' || arg[0] == '.')) return false;
  auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  auto slash = arg.find('/');
  if (slash != std::string::npos && slash < colon) return false;
  *ctr = arg.substr(0, colon);
  *path = arg.substr(colon + 1);
  return true;
}

std::string base_of(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}
std::string dir_of(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto s = p.rfind('/');
  if (s == std::string::npos) return ".";
  return s == 0 ? "/" : p.substr(0, s);
}
bool ends_with_dot(const std::string& p) { return p == "." || str::ends_with(p, "/."); }

// Writes the local tree at `src` into `a`, the top entry named `name`
// (empty: the contents of a directory, as "SRC/.").
Status tar_local(struct archive* a, const std::string& src, const std::string& name) {
  struct stat st {};
  if (::lstat(src.c_str(), &st) != 0) return sys_error("lstat " + src);
  if (!name.empty()) {
    std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_copy_stat(e.get(), &st);
    archive_entry_set_pathname(e.get(), (S_ISDIR(st.st_mode) ? name + "/" : name).c_str());
    if (S_ISLNK(st.st_mode)) {
      std::string t(4096, '\0');
      ssize_t n = ::readlink(src.c_str(), t.data(), t.size());
      if (n < 0) return sys_error("readlink " + src);
      t.resize(static_cast<size_t>(n));
      archive_entry_set_symlink(e.get(), t.c_str());
    }
    if (!S_ISREG(st.st_mode)) archive_entry_set_size(e.get(), 0);
    if (archive_write_header(a, e.get()) != ARCHIVE_OK)
      return make_error(Errc::internal, std::string(aerr(a)));
    if (S_ISREG(st.st_mode)) {
      UniqueFd fd(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (!fd) return sys_error("open " + src);
      std::vector<char> buf(1 << 16);
      for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("read " + src);
        if (n == 0) break;
        if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) < 0)
          return make_error(Errc::internal, std::string(aerr(a)));
      }
    }
  }
  if (!S_ISDIR(st.st_mode)) return ok();
  std::vector<std::string> names;
  DIR* d = ::opendir(src.c_str());
  if (!d) return sys_error("opendir " + src);
  while (auto* ent = ::readdir(d))
    if (std::strcmp(ent->d_name, ".") && std::strcmp(ent->d_name, "..")) names.emplace_back(ent->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) BERTH_TRY_VOID(tar_local(a, src + "/" + n, name.empty() ? n : name + "/" + n));
  return ok();
}

Result<Json> stat_path(client::Client& c, const std::string& ctr, const std::string& path) {
  client::Request r{"HEAD", cpath(ctr) + "/archive", {{"path", path}}};
  auto res = c.request(r);
  if (!res) return std::move(res).error();
  const std::string* h = res->head.header("X-Docker-Container-Path-Stat");
  if (!h) return make_error(Errc::internal, "missing X-Docker-Container-Path-Stat header");
  auto raw = str::base64_decode(*h);
  if (!raw) return make_error(Errc::internal, "bad X-Docker-Container-Path-Stat header");
  return parse_json(*raw);
}

bool is_dir_mode(const Json& st) { return (st.value("mode", uint32_t{0}) & (1u << 31)) != 0; }
bool is_link_mode(const Json& st) { return (st.value("mode", uint32_t{0}) & (1u << 27)) != 0; }

int copy_from(Context& ctx, client::Client& c, const std::string& ctr, const std::string& src,
              const std::string& dst, bool follow) {
  std::string path = src;
  if (follow) {
    auto st = stat_path(c, ctr, path);
    if (!st) return ctx.fail(st.error().msg);
    if (is_link_mode(*st) && !st->value("linkTarget", std::string()).empty()) path = st->value("linkTarget", "");
  }
  auto s = c.stream(client::Request::get(cpath(ctr) + "/archive", {{"path", path}}));
  if (!s) return ctx.fail(s.error().msg);
  if (dst == "-") {
    std::string chunk;
    for (;;) {
      chunk.clear();
      auto more = s->read(&chunk);
      if (!more) return ctx.fail(more.error().msg);
      if (!chunk.empty() && !fs::write_all(ctx.out.fd(), chunk)) return ctx.fail("write: broken pipe");
      if (!*more) break;
    }
    return 0;
  }
  const std::string* h = s->head().header("X-Docker-Container-Path-Stat");
  auto raw = h ? str::base64_decode(*h) : std::nullopt;
  auto st = raw ? parse_json(*raw) : Result<Json>(make_error(Errc::internal, "missing stat"));
  if (!st) return ctx.fail(st.error().msg);
  bool src_dir = is_dir_mode(*st);
  std::string src_base = base_of(src);
  // Where the tree lands and what its top entry becomes (docker's
  // CopyInfoDestinationPath / PrepareArchiveCopy).
  struct stat dst_st {};
  bool dst_exists = ::stat(dst.c_str(), &dst_st) == 0;
  std::string extract_dir, rename_to;
  if (ends_with_dot(src) && src_dir) {
    // SRC/. : the contents go into DST (created when missing).
    if (dst_exists && !S_ISDIR(dst_st.st_mode))
      return ctx.fail("cannot copy a directory to a file");
    if (!dst_exists && ::mkdir(dst.c_str(), 0755) != 0) return ctx.fail("mkdir " + dst + ": " + std::strerror(errno));
    extract_dir = dst;
  } else if (dst_exists && S_ISDIR(dst_st.st_mode)) {
    extract_dir = dst;
  } else {
    if (!dst_exists && !dst.empty() && dst.back() == '/' && !src_dir)
      return ctx.fail("destination directory " + dst + " does not exist");
    if (dst_exists && src_dir) return ctx.fail("cannot copy a directory to a file");
    extract_dir = dir_of(dst);
    rename_to = base_of(dst);
  }
  // Read the tar from the response and extract it locally.
  std::unique_ptr<struct archive, ReadFree> in(archive_read_new());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_empty(in.get());
  struct Src {
    client::Stream* s;
    std::string buf;
    Status err;
  } srcst{&*s, {}, ok()};
  auto read_cb = [](struct archive*, void* ctxp, const void** out) -> la_ssize_t {
    auto* p = static_cast<Src*>(ctxp);
    p->buf.clear();
    while (p->buf.empty()) {
      auto more = p->s->read(&p->buf);
      if (!more) {
        p->err = std::move(more).error();
        return -1;
      }
      if (!*more) break;
    }
    *out = p->buf.data();
    return static_cast<la_ssize_t>(p->buf.size());
  };
  if (archive_read_open(in.get(), &srcst, nullptr, read_cb, nullptr) != ARCHIVE_OK)
    return ctx.fail(std::string("invalid archive: ") + aerr(in.get()));
  std::unique_ptr<struct archive, WriteFree> out(archive_write_disk_new());
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_UNLINK | (::geteuid() == 0 ? ARCHIVE_EXTRACT_OWNER : 0));
  for (;;) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return ctx.fail(srcst.err ? std::string(aerr(in.get())) : srcst.err.error().msg);
    std::string name = archive_entry_pathname(e);
    if (!rename_to.empty()) {
      // the top entry is src_base (or "." / "/" forms): rename it
      std::string rest = name.find('/') == std::string::npos ? "" : name.substr(name.find('/'));
      name = rename_to + rest;
    }
    if (const char* hl = archive_entry_hardlink(e); hl && !rename_to.empty()) {
      std::string h = hl;
      std::string rest = h.find('/') == std::string::npos ? "" : h.substr(h.find('/'));
      archive_entry_copy_hardlink(e, (extract_dir + "/" + rename_to + rest).c_str());
    } else if (hl) {
      archive_entry_copy_hardlink(e, (extract_dir + "/" + std::string(hl)).c_str());
    }
    archive_entry_copy_pathname(e, (extract_dir + "/" + name).c_str());
    if (archive_write_header(out.get(), e) < ARCHIVE_WARN)
      return ctx.fail(std::string(aerr(out.get())));
    const void* b;
    size_t len;
    la_int64_t off;
    while ((r = archive_read_data_block(in.get(), &b, &len, &off)) == ARCHIVE_OK)
      if (archive_write_data_block(out.get(), b, len, off) < ARCHIVE_WARN)
        return ctx.fail(std::string(aerr(out.get())));
    if (r < ARCHIVE_WARN) return ctx.fail(std::string(aerr(in.get())));
    (void)src_base;
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) return ctx.fail(std::string(aerr(out.get())));
  return 0;
}

int copy_to(Context& ctx, client::Client& c, const std::string& src, const std::string& ctr, const std::string& dst,
            bool copy_uid_gid) {
  // The destination: a directory (extract there) or a path whose parent
  // exists (extract into the parent, renaming the top entry).
  std::string dst_path = dst;
  auto st = stat_path(c, ctr, dst_path);
  if (st && is_link_mode(*st)) {
    std::string target = st->value("linkTarget", "");
    if (!target.empty()) {
      dst_path = target;
      st = stat_path(c, ctr, dst_path);
    }
  }
  bool dst_exists = static_cast<bool>(st), dst_dir = st && is_dir_mode(*st);
  struct stat sst {};
  if (src != "-" && ::lstat(src.c_str(), &sst) != 0)
    return ctx.fail("lstat " + src + ": " + go_strerror(errno));
  std::string put_dir, top;
  bool contents_only = src != "-" && S_ISDIR(sst.st_mode) && ends_with_dot(src);
  if (dst_exists && dst_dir) {
    put_dir = dst_path;
    top = contents_only ? "" : base_of(src);
  } else {
    if (dst_exists && !dst_dir && S_ISDIR(sst.st_mode)) return ctx.fail("cannot copy a directory to a file");
    if (!dst_exists && !dst.empty() && dst.back() == '/' && !S_ISDIR(sst.st_mode))
      return ctx.fail("destination \"" + ctr + ":" + dst + "\" does not exist as a directory");
    put_dir = dir_of(dst_path);
    top = base_of(dst_path);
  }
  UniqueFd body;
  if (src == "-") {
    body.reset(::dup(ctx.in_fd));  // a tar archive, extracted at DST as is
    put_dir = dst_path;
  } else {
    body.reset(::memfd_create("berth-cp", MFD_CLOEXEC));
    if (!body) return ctx.fail(std::string("memfd_create: ") + std::strerror(errno));
    std::unique_ptr<struct archive, WriteFree> a(archive_write_new());
    archive_write_set_format_pax_restricted(a.get());
    archive_write_set_bytes_in_last_block(a.get(), 1);
    if (archive_write_open_fd(a.get(), body.get()) != ARCHIVE_OK) return ctx.fail(aerr(a.get()));
    std::string root = contents_only ? src.substr(0, src.size() - 1) : src;
    if (auto t = tar_local(a.get(), root, top); !t) return ctx.fail(t.error().msg);
    if (archive_write_close(a.get()) != ARCHIVE_OK) return ctx.fail(aerr(a.get()));
    ::lseek(body.get(), 0, SEEK_SET);
  }
  api::Query q{{"path", put_dir}, {"noOverwriteDirNonDir", "true"}};
  if (copy_uid_gid) q.emplace_back("copyUIDGID", "true");
  client::Request r{"PUT", cpath(ctr) + "/archive", q};
  r.content_type = "application/x-tar";
  auto s = c.upload(r, body.get());
  if (!s) return ctx.fail(s.error().msg);
  auto rest = s->read_all();
  if (!rest) return ctx.fail(rest.error().msg);
  return 0;
}

}  // namespace

int cmd_cp(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_bool("archive", 'a', "Archive mode (copy all uid/gid information)");
  f.add_bool("follow-link", 'L', "Always follow symbol link in SRC_PATH");
  f.add_bool("quiet", 'q', "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached");
  if (auto rc = parse_flags(ctx, kCp, f, args)) return *rc;
  if (f.args().size() != 2) return ctx.args_error(kCp, "exactly", 2);
  const std::string& a = f.args()[0];
  const std::string& b = f.args()[1];
  std::string ca, pa, cb, pb;
  bool from = split_cp_arg(a, &ca, &pa), to = split_cp_arg(b, &cb, &pb);
  if (from && to) return ctx.fail("copying between containers is not supported");
  if (!from && !to) return ctx.fail("must specify at least one container source");
  if ((from && pa.empty()) || (to && pb.empty())) return ctx.fail("filepath can not be empty");
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  if (from) return copy_from(ctx, **api, ca, pa, b, f.get_bool("follow-link"));
  return copy_to(ctx, **api, a, cb, pb, f.get_bool("archive"));
}

int cmd_export(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_string("output", 'o', "", "Write to a file, instead of STDOUT");
  if (auto rc = parse_flags(ctx, kExport, f, args)) return *rc;
  if (f.args().size() != 1) return ctx.args_error(kExport, "exactly", 1);
  std::string out = f.get_string("output");
  if (out.empty() && ::isatty(ctx.out.fd()))
    return ctx.fail("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto s = (*api)->stream(client::Request::get(cpath(f.args()[0]) + "/export"));
  if (!s) return ctx.fail(s.error().msg);
  UniqueFd file;
  int fd = ctx.out.fd();
  if (!out.empty()) {
    file.reset(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!file) return ctx.fail("failed to export container: open " + out + ": " + go_strerror(errno));
    fd = file.get();
  }
  std::string chunk;
  for (;;) {
    chunk.clear();
    auto more = s->read(&chunk);
    if (!more) return ctx.fail(more.error().msg);
    if (!chunk.empty() && !fs::write_all(fd, chunk)) return ctx.fail("write: " + std::string(std::strerror(errno)));
    if (!*more) break;
  }
  return 0;
}

int cmd_diff(Context& ctx, const Args& args) {
  FlagSet f;
  if (auto rc = parse_flags(ctx, kDiff, f, args)) return *rc;
  if (f.args().size() != 1) return ctx.args_error(kDiff, "exactly", 1);
  auto j = ctx.call_json(client::Request::get(cpath(f.args()[0]) + "/changes"));
  if (!j) return ctx.fail(j.error().msg);
  if (j->is_array())
    for (const auto& c : *j) {
      int k = c.value("Kind", 0);
      ctx.out << (k == 0 ? "C" : k == 1 ? "A" : "D") << " " << c.value("Path", std::string()) << "\n";
    }
  return 0;
}

int cmd_container_prune(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_bool("force", 'f', "Do not prompt for confirmation");
  f.add_list("filter", 0, "Provide filter values (e.g. 'until=<timestamp>')", "filter");
  if (auto rc = parse_flags(ctx, kPrune, f, args)) return *rc;
  if (!f.get_bool("force")) {
    ctx.out << "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ";
    ctx.out.flush();
    std::string answer;
    char ch;
    while (::read(ctx.in_fd, &ch, 1) == 1 && ch != '\n') answer += ch;
    answer = str::to_lower(std::string(str::trim(answer)));
    if (answer != "y" && answer != "yes") return 0;
  }
  Json filters = Json::object();
  for (const auto& kv : f.get_list("filter")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return ctx.fail("bad format of filter (expected name=value)");
    filters[kv.substr(0, eq)][kv.substr(eq + 1)] = true;
  }
  api::Query q;
  if (!filters.empty()) q.emplace_back("filters", filters.dump());
  auto j = ctx.call_json(client::Request::post("/containers/prune", q));
  if (!j) return ctx.fail(j.error().msg);
  const Json& del = (*j)["ContainersDeleted"];
  if (del.is_array() && !del.empty()) {
    ctx.out << "Deleted Containers:\n";
    for (const auto& id : del) ctx.out << id.get<std::string>() << "\n";
    ctx.out << "\n";
  }
  ctx.out << "Total reclaimed space: " << human_size(j->value("SpaceReclaimed", 0.0)) << "\n";
  return 0;
}

}  // namespace berth::cli

// libarchive is loaded by the CLI on first use (`berth cp`), not at exec.
//
// Linked, libarchive (with libacl, liblzma, libbz2, libz and libzstd behind
// it) is mapped and relocated at the start of every `berth` command, while
// only `cp` calls it: that was most of the start-up cost of `berth ps` and
// `berth version` (DESIGN.md §6: ps with 50 running <= 5 ms). These
// definitions of the libarchive entry points src/cli/archive.cc calls
// stand in for the library, as src/registry/curl_lazy.cc does for libcurl
// in berthd: the first call dlopen()s libarchive.so.13, each entry point
// looks its real function up once, and every call forwards to it.
// archive.cc still includes <archive.h> and calls archive_*.
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace {

// A missing libarchive is a broken installation: `cp` cannot work at all,
// so say why and end the command, rather than crash on a null pointer.
[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "berth: cannot load libarchive for cp: %s\n", what);
  std::fflush(stderr);
  std::exit(1);
}

// Loaded once, thread-safely (function-local statics), on the first call.
void* lib() {
  static void* const h = [] {
    void* p = ::dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!p) die(::dlerror());
    return p;
  }();
  return h;
}

template <typename F>
F sym(const char* name) {
  void* p = ::dlsym(lib(), name);
  if (!p) die(::dlerror());
  return reinterpret_cast<F>(p);
}

}  // namespace

// The real function, looked up on this entry point's first call.
#define BERTH_ARCHIVE_REAL(name) static const auto real = sym<decltype(&::name)>(#name)

extern "C" {

const char* archive_error_string(struct archive* a) {
  BERTH_ARCHIVE_REAL(archive_error_string);
  return real(a);
}

struct archive* archive_read_new(void) {
  BERTH_ARCHIVE_REAL(archive_read_new);
  return real();
}
int archive_read_support_format_tar(struct archive* a) {
  BERTH_ARCHIVE_REAL(archive_read_support_format_tar);
  return real(a);
}
int archive_read_support_format_empty(struct archive* a) {
  BERTH_ARCHIVE_REAL(archive_read_support_format_empty);
  return real(a);
}
int archive_read_open(struct archive* a, void* client, archive_open_callback* open, archive_read_callback* read,
                      archive_close_callback* close) {
  BERTH_ARCHIVE_REAL(archive_read_open);
  return real(a, client, open, read, close);
}
int archive_read_next_header(struct archive* a, struct archive_entry** e) {
  BERTH_ARCHIVE_REAL(archive_read_next_header);
  return real(a, e);
}
int archive_read_data_block(struct archive* a, const void** buf, size_t* len, la_int64_t* off) {
  BERTH_ARCHIVE_REAL(archive_read_data_block);
  return real(a, buf, len, off);
}
int archive_read_free(struct archive* a) {
  BERTH_ARCHIVE_REAL(archive_read_free);
  return real(a);
}

struct archive* archive_write_new(void) {
  BERTH_ARCHIVE_REAL(archive_write_new);
  return real();
}
struct archive* archive_write_disk_new(void) {
  BERTH_ARCHIVE_REAL(archive_write_disk_new);
  return real();
}
int archive_write_disk_set_options(struct archive* a, int flags) {
  BERTH_ARCHIVE_REAL(archive_write_disk_set_options);
  return real(a, flags);
}
int archive_write_set_format_pax_restricted(struct archive* a) {
  BERTH_ARCHIVE_REAL(archive_write_set_format_pax_restricted);
  return real(a);
}
int archive_write_set_bytes_in_last_block(struct archive* a, int n) {
  BERTH_ARCHIVE_REAL(archive_write_set_bytes_in_last_block);
  return real(a, n);
}
int archive_write_open_fd(struct archive* a, int fd) {
  BERTH_ARCHIVE_REAL(archive_write_open_fd);
  return real(a, fd);
}
int archive_write_header(struct archive* a, struct archive_entry* e) {
  BERTH_ARCHIVE_REAL(archive_write_header);
  return real(a, e);
}
la_ssize_t archive_write_data(struct archive* a, const void* buf, size_t n) {
  BERTH_ARCHIVE_REAL(archive_write_data);
  return real(a, buf, n);
}
la_ssize_t archive_write_data_block(struct archive* a, const void* buf, size_t n, la_int64_t off) {
  BERTH_ARCHIVE_REAL(archive_write_data_block);
  return real(a, buf, n, off);
}
int archive_write_close(struct archive* a) {
  BERTH_ARCHIVE_REAL(archive_write_close);
  return real(a);
}
int archive_write_free(struct archive* a) {
  BERTH_ARCHIVE_REAL(archive_write_free);
  return real(a);
}

struct archive_entry* archive_entry_new(void) {
  BERTH_ARCHIVE_REAL(archive_entry_new);
  return real();
}
void archive_entry_free(struct archive_entry* e) {
  BERTH_ARCHIVE_REAL(archive_entry_free);
  real(e);
}
void archive_entry_copy_stat(struct archive_entry* e, const struct stat* st) {
  BERTH_ARCHIVE_REAL(archive_entry_copy_stat);
  real(e, st);
}
void archive_entry_set_pathname(struct archive_entry* e, const char* p) {
  BERTH_ARCHIVE_REAL(archive_entry_set_pathname);
  real(e, p);
}
void archive_entry_copy_pathname(struct archive_entry* e, const char* p) {
  BERTH_ARCHIVE_REAL(archive_entry_copy_pathname);
  real(e, p);
}
void archive_entry_set_symlink(struct archive_entry* e, const char* p) {
  BERTH_ARCHIVE_REAL(archive_entry_set_symlink);
  real(e, p);
}
void archive_entry_copy_hardlink(struct archive_entry* e, const char* p) {
  BERTH_ARCHIVE_REAL(archive_entry_copy_hardlink);
  real(e, p);
}
void archive_entry_set_size(struct archive_entry* e, la_int64_t n) {
  BERTH_ARCHIVE_REAL(archive_entry_set_size);
  real(e, n);
}
const char* archive_entry_pathname(struct archive_entry* e) {
  BERTH_ARCHIVE_REAL(archive_entry_pathname);
  return real(e);
}
const char* archive_entry_hardlink(struct archive_entry* e) {
  BERTH_ARCHIVE_REAL(archive_entry_hardlink);
  return real(e);
}

}  // extern "C"

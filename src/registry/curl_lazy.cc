// libcurl is loaded on first use, not at daemon start.
//
// Linking libcurl directly maps it and its TLS/auth stack (gnutls,
// p11-kit, krb5, ldap, ssh2, nghttp2, ...) into berthd at exec time and
// runs their constructors: ~3 MiB of resident pages in a daemon that may
// never pull or push (DESIGN.md §6: idle RSS <= 8 MiB). These definitions
// of the few libcurl entry points the registry client calls stand in for
// the library: the first call dlopen()s libcurl, runs curl_global_init
// once, and every call forwards to the real function. Nothing else in
// src/registry changes: it still includes <curl/curl.h> and calls curl_*.
// The library stays loaded once used (curl_global_cleanup is not
// reentrant-safe to pair with a dlclose while transfers may run).
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace {

struct CurlApi {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

template <typename F>
bool bind(void* h, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(h, name));
  return out != nullptr;
}

// Loaded once, thread-safely (a function-local static), on the first call.
// A missing libcurl is a broken installation: the registry cannot work at
// all, so say why and stop rather than crash on a null pointer.
const CurlApi& api() {
  static const CurlApi a = [] {
    CurlApi r{};
    void* h = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      std::fprintf(stderr, "berthd: cannot load libcurl for registry access: %s\n", ::dlerror());
      std::abort();
    }
    bool ok = bind(h, "curl_global_init", r.global_init) && bind(h, "curl_easy_init", r.easy_init) &&
              bind(h, "curl_easy_setopt", r.easy_setopt) && bind(h, "curl_easy_perform", r.easy_perform) &&
              bind(h, "curl_easy_cleanup", r.easy_cleanup) &&
              bind(h, "curl_easy_reset", r.easy_reset) && bind(h, "curl_easy_getinfo", r.easy_getinfo) &&
              bind(h, "curl_easy_strerror", r.easy_strerror) && bind(h, "curl_slist_append", r.slist_append) &&
              bind(h, "curl_slist_free_all", r.slist_free_all);
    if (!ok) {
      std::fprintf(stderr, "berthd: libcurl lacks an expected function: %s\n", ::dlerror());
      std::abort();
    }
    r.global_init(CURL_GLOBAL_DEFAULT);
    return r;
  }();
  return a;
}

}  // namespace

extern "C" {

// The registry calls this itself before its first handle; the real global
// init already ran when the library was loaded.
CURLcode curl_global_init(long) {
  api();
  return CURLE_OK;
}

CURL* curl_easy_init(void) { return api().easy_init(); }

// One argument follows the option; its C type is given by the option's
// number range (curl.h: CURLOPTTYPE_*).
CURLcode curl_easy_setopt(CURL* c, CURLoption opt, ...) {
  va_list ap;
  va_start(ap, opt);
  CURLcode rc;
  if (opt < CURLOPTTYPE_OBJECTPOINT) {
    long v = va_arg(ap, long);
    rc = api().easy_setopt(c, opt, v);
  } else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB) {
    curl_off_t v = va_arg(ap, curl_off_t);
    rc = api().easy_setopt(c, opt, v);
  } else {
    void* v = va_arg(ap, void*);
    rc = api().easy_setopt(c, opt, v);
  }
  va_end(ap);
  return rc;
}

CURLcode curl_easy_perform(CURL* c) { return api().easy_perform(c); }
void curl_easy_cleanup(CURL* c) { api().easy_cleanup(c); }
void curl_easy_reset(CURL* c) { api().easy_reset(c); }

// Every CURLINFO takes one pointer to where the answer goes.
CURLcode curl_easy_getinfo(CURL* c, CURLINFO info, ...) {
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);
  va_end(ap);
  return api().easy_getinfo(c, info, out);
}

const char* curl_easy_strerror(CURLcode code) { return api().easy_strerror(code); }
curl_slist* curl_slist_append(curl_slist* l, const char* s) { return api().slist_append(l, s); }
void curl_slist_free_all(curl_slist* l) { api().slist_free_all(l); }

}  // extern "C"

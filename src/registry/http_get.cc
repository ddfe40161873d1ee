#include "registry/http_get.h"

#include <curl/curl.h>

#include <memory>

#include "common/strings.h"

namespace berth::registry {

namespace {

struct Xfer {
  const Sink* sink;
  const std::function<void(int64_t)>* on_length;
  CURL* h;
  bool started = false;
  long status = 0;
  std::string reason;
  std::string err_body;
  Status sink_status;
};

size_t header_cb(char* p, size_t sz, size_t n, void* ud) {
  auto* x = static_cast<Xfer*>(ud);
  std::string_view line(p, sz * n);
  if (str::starts_with(line, "HTTP/")) {
    // "HTTP/1.1 404 Not Found\r\n" (a new status line after a redirect)
    auto sp = line.find(' ');
    x->reason = std::string(line.substr(sp == std::string_view::npos ? line.size() : sp + 1));
    while (!x->reason.empty() && (x->reason.back() == '\r' || x->reason.back() == '\n')) x->reason.pop_back();
  }
  return sz * n;
}

size_t write_cb(char* p, size_t sz, size_t n, void* ud) {
  auto* x = static_cast<Xfer*>(ud);
  if (!x->started) {
    x->started = true;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->status < 400 && *x->on_length) {
      curl_off_t len = -1;
      curl_easy_getinfo(x->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
      (*x->on_length)(len);
    }
  }
  if (x->status >= 400) {
    if (x->err_body.size() < 1024) x->err_body.append(p, std::min<size_t>(sz * n, 1024 - x->err_body.size()));
    return sz * n;
  }
  x->sink_status = (*x->sink)(std::string_view(p, sz * n));
  return x->sink_status ? sz * n : 0;
}

struct CurlFree {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};

}  // namespace

Status http_get(const std::string& url, const Sink& sink, const std::function<void(int64_t)>& on_length) {
  std::unique_ptr<CURL, CurlFree> h(curl_easy_init());
  if (!h) return make_error(Errc::internal, "curl_easy_init failed");
  Xfer x{&sink, &on_length, h.get()};
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_USERAGENT, "berth/0.1 (docker/20.10 compatible)");
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(h.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h.get(), CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.get(), CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.get(), CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(h.get(), CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(h.get(), CURLOPT_HEADERDATA, &x);
  CURLcode rc = curl_easy_perform(h.get());
  if (!x.sink_status) return x.sink_status;
  if (!x.started) curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &x.status);
  if (x.status >= 400) {
    std::string body = x.err_body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    return make_error(Errc::invalid, "failed to GET " + url + " with status " + x.reason + ": " + body);
  }
  if (rc != CURLE_OK)
    return make_error(Errc::invalid, "Get \"" + url + "\": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  if (!x.started && on_length) on_length(0);
  return ok();
}

}  // namespace berth::registry

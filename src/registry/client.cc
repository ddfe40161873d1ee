#include "registry/client.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/strings.h"

namespace berth::registry {

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};
void curl_init_once() { static CurlGlobal g; }

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string lower(std::string_view s) { return str::to_lower(s); }

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') break;
    else continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

AuthConfig decode_auth_header(std::string_view header) {
  AuthConfig a;
  if (header.empty()) return a;
  auto j = parse_json(base64_decode(header));
  if (!j || !j->is_object()) return a;
  auto s = [&](const char* k) {
    auto it = j->find(k);
    return it != j->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  a.username = s("username");
  a.password = s("password");
  a.identity_token = s("identitytoken");
  a.registry_token = s("registrytoken");
  a.server_address = s("serveraddress");
  return a;
}

bool is_layer_media_type(std::string_view mt) {
  return mt == kDockerLayerGzip || mt == kOciLayer || mt == kOciLayerGzip || mt == kOciLayerZstd ||
         mt == kDockerForeignLayer || mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
}

std::string api_host(std::string_view domain) {
  if (domain == "docker.io" || domain == "index.docker.io") return "registry-1.docker.io";
  return std::string(domain);
}

bool is_insecure(std::string_view host, const std::vector<std::string>& insecure) {
  std::string h(host);
  std::string name = h;
  if (!h.empty() && h[0] == '[') {
    name = h.substr(1, h.find(']') - 1);
  } else if (auto c = h.rfind(':'); c != std::string::npos && h.find(':') == c) {
    name = h.substr(0, c);
  }
  if (name == "localhost") return true;
  for (const auto& e : insecure)
    if (e == h || e == name) return true;
  in_addr a{};
  if (::inet_pton(AF_INET, name.c_str(), &a) == 1) {
    uint32_t ip = ntohl(a.s_addr);
    if ((ip >> 24) == 127) return true;
    for (const auto& e : insecure) {
      auto slash = e.find('/');
      if (slash == std::string::npos) continue;
      in_addr n{};
      if (::inet_pton(AF_INET, e.substr(0, slash).c_str(), &n) != 1) continue;
      auto bits = str::parse_int(e.substr(slash + 1));
      if (!bits || *bits < 0 || *bits > 32) continue;
      uint32_t mask = *bits == 0 ? 0 : ~uint32_t(0) << (32 - *bits);
      if ((ip & mask) == (ntohl(n.s_addr) & mask)) return true;
    }
  } else if (name == "::1") {
    return true;
  }
  return false;
}

std::optional<Challenge> parse_challenge(std::string_view h) {
  h = str::trim(h);
  auto sp = h.find(' ');
  Challenge c;
  c.scheme = lower(h.substr(0, sp));
  if (c.scheme.empty()) return std::nullopt;
  if (sp == std::string_view::npos) return c;
  std::string_view rest = h.substr(sp + 1);
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == ',')) ++i;
    size_t eq = rest.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key = lower(str::trim(rest.substr(i, eq - i)));
    i = eq + 1;
    std::string val;
    if (i < rest.size() && rest[i] == '"') {
      ++i;
      while (i < rest.size() && rest[i] != '"') {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        val += rest[i++];
      }
      ++i;
    } else {
      size_t e = rest.find(',', i);
      if (e == std::string_view::npos) e = rest.size();
      val = std::string(str::trim(rest.substr(i, e - i)));
      i = e;
    }
    c.params[key] = val;
  }
  return c;
}

struct Session::Resp {
  long status = 0;
  std::string body;  // when no sink was given (bounded)
  std::map<std::string, std::string> headers;  // lowercase names, last value
  std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? std::string() : it->second;
  }
};

Session::Session(Endpoint ep, std::string repo, AuthConfig auth)
    : ep_(std::move(ep)), repo_(std::move(repo)), auth_(std::move(auth)) {
  curl_init_once();
}
Session::~Session() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

std::string Session::url(std::string_view path) const { return ep_.base_url() + std::string(path); }

namespace {

struct XferCtx {
  const Sink* sink = nullptr;
  std::string* body = nullptr;
  int64_t max_body = 0;
  Status sink_status;
  bool too_big = false;
  const Source* src = nullptr;
  Status src_status;
  std::map<std::string, std::string>* headers = nullptr;
  int64_t skip_on_200 = 0;  // a resumed GET the server answered in full
  CURL* curl = nullptr;
};

size_t write_cb(char* p, size_t sz, size_t n, void* ud) {
  auto* x = static_cast<XferCtx*>(ud);
  size_t len = sz * n;
  long code = 0;
  curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
  // Only successful bodies go to the sink; error bodies are kept (bounded).
  if (x->sink && code >= 200 && code < 300) {
    if (code == 200 && x->skip_on_200 > 0) {
      size_t k = static_cast<size_t>(std::min<int64_t>(x->skip_on_200, static_cast<int64_t>(len)));
      x->skip_on_200 -= static_cast<int64_t>(k);
      if (k == len) return len;
      p += k;
      len -= k;
      auto st = (*x->sink)(std::string_view(p, len));
      if (!st) {
        x->sink_status = std::move(st);
        return 0;
      }
      return len + k;
    }
    auto st = (*x->sink)(std::string_view(p, len));
    if (!st) {
      x->sink_status = std::move(st);
      return 0;
    }
    return len;
  }
  if (static_cast<int64_t>(x->body->size() + len) > x->max_body) {
    x->too_big = true;
    return 0;
  }
  x->body->append(p, len);
  return len;
}

size_t header_cb(char* p, size_t sz, size_t n, void* ud) {
  auto* x = static_cast<XferCtx*>(ud);
  std::string_view line(p, sz * n);
  if (line.rfind("HTTP/", 0) == 0) {
    x->headers->clear();  // a new response (after 100-continue or redirect)
    return sz * n;
  }
  auto c = line.find(':');
  if (c != std::string_view::npos) {
    std::string k = str::to_lower(str::trim(line.substr(0, c)));
    (*x->headers)[k] = std::string(str::trim(line.substr(c + 1)));
  }
  return sz * n;
}

size_t read_cb(char* buf, size_t sz, size_t n, void* ud) {
  auto* x = static_cast<XferCtx*>(ud);
  auto r = (*x->src)(buf, sz * n);
  if (!r) {
    x->src_status = std::move(r).error();
    return CURL_READFUNC_ABORT;
  }
  return *r;
}

}  // namespace

Result<Session::Resp> Session::do_request(const std::string& method, const std::string& url,
                                          const std::vector<std::string>& headers,
                                          const std::string& auth, const Sink* sink, const Source* body,
                                          int64_t body_size, int64_t max_body, int64_t skip_on_200) {
  // A pooled handle keeps its connection to the registry alive for the
  // next request; curl_easy_reset clears the options, not the connections.
  std::unique_ptr<CURL, CurlFree> c;
  {
    std::lock_guard g(pool_mu_);
    if (!idle_.empty()) {
      c.reset(static_cast<CURL*>(idle_.back()));
      idle_.pop_back();
    }
  }
  if (!c) c.reset(curl_easy_init());
  if (!c) return make_error(Errc::internal, "curl: cannot create a handle");
  Resp r;
  XferCtx x;
  x.sink = sink;
  x.body = &r.body;
  x.max_body = max_body;
  x.src = body;
  x.headers = &r.headers;
  x.curl = c.get();
  x.skip_on_200 = skip_on_200;
  curl_slist* hl = nullptr;
  for (const auto& h : headers) hl = curl_slist_append(hl, h.c_str());
  if (!auth.empty()) hl = curl_slist_append(hl, ("Authorization: " + auth).c_str());
  hl = curl_slist_append(hl, "Expect:");
  std::unique_ptr<curl_slist, SlistFree> hguard(hl);
  CURL* h = c.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/0.1 (docker/20.10 compatible)");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 byte/s for 60 s) fails instead of hanging.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  // Authorization must not follow a redirect to another host (blob storage).
  curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    if (body) {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
      curl_easy_setopt(h, CURLOPT_READDATA, &x);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
    } else {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  if (rc == CURLE_OK) {
    // Only a handle whose exchange completed goes back to the pool (an
    // aborted one may hold a connection in an unknown state), its options
    // (pointers into this frame) cleared.
    curl_easy_reset(h);
    std::lock_guard g(pool_mu_);
    idle_.push_back(c.release());
  }
  if (!x.sink_status) return std::move(x.sink_status).error();
  if (!x.src_status) return std::move(x.src_status).error();
  if (x.too_big)
    return make_error(Errc::invalid, method + " " + url + ": response larger than " + std::to_string(max_body) +
                                         " bytes refused");
  if (rc != CURLE_OK)
    return make_error(Errc::unavailable, method + " \"" + url + "\": " + curl_easy_strerror(rc));
  return r;
}

std::string Session::auth_header(const std::string& scope) {
  std::lock_guard g(mu_);
  auto it = tokens_.find(scope);
  if (it != tokens_.end()) return it->second;
  if (!basic_.empty()) return basic_;
  return "";
}

Status Session::authorize(const std::string& www, const std::string& scope) {
  auto ch = parse_challenge(www);
  if (!ch) return make_error(Errc::unauthorized, "unauthorized: bad WWW-Authenticate header");
  if (ch->scheme == "basic") {
    if (auth_.username.empty() && auth_.password.empty())
      return make_error(Errc::unauthorized, "no basic auth credentials");
    std::lock_guard g(mu_);
    basic_ = "Basic " + base64_encode(auth_.username + ":" + auth_.password);
    return ok();
  }
  if (ch->scheme != "bearer")
    return make_error(Errc::unauthorized, "unsupported authentication scheme \"" + ch->scheme + "\"");
  if (!auth_.registry_token.empty()) {
    std::lock_guard g(mu_);
    tokens_[scope] = "Bearer " + auth_.registry_token;
    return ok();
  }
  std::string realm = ch->params["realm"];
  if (realm.empty()) return make_error(Errc::unauthorized, "bearer challenge without a realm");
  if (!str::starts_with(realm, "https://") && !str::starts_with(realm, "http://"))
    return make_error(Errc::unauthorized, "token realm \"" + realm + "\" is not an http(s) URL");
  std::string q = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  bool first = true;
  auto add = [&](const std::string& k, const std::string& v) {
    if (v.empty()) return;
    if (!first) q += '&';
    first = false;
    q += k + "=" + str::url_encode(v);
  };
  add("service", ch->params["service"]);
  add("scope", scope.empty() ? ch->params["scope"] : scope);
  if (!auth_.username.empty()) add("account", auth_.username);
  std::string basic;
  if (!auth_.username.empty() || !auth_.password.empty())
    basic = "Basic " + base64_encode(auth_.username + ":" + auth_.password);
  auto r = BERTH_TRY(do_request("GET", q, {"Accept: application/json"}, basic, nullptr, nullptr, 0, 1 << 20));
  if (r.status == 401 || r.status == 403)
    return make_error(Errc::unauthorized, "unauthorized: incorrect username or password");
  if (r.status != 200)
    return make_error(Errc::unavailable, "token server " + realm + " answered " + std::to_string(r.status));
  auto j = parse_json(r.body);
  if (!j || !j->is_object()) return make_error(Errc::unavailable, "token server sent invalid JSON");
  std::string tok = j->value("token", std::string());
  if (tok.empty()) tok = j->value("access_token", std::string());
  if (tok.empty()) return make_error(Errc::unavailable, "token server sent no token");
  std::lock_guard g(mu_);
  tokens_[scope] = "Bearer " + tok;
  return ok();
}

Result<Session::Resp> Session::request(const std::string& method, const std::string& u,
                                       std::vector<std::string> headers, const std::string& scope,
                                       const Sink* sink, const Source* body, int64_t body_size,
                                       int64_t max_body, int64_t skip_on_200) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = BERTH_TRY(do_request(method, u, headers, auth_header(scope), sink, body, body_size, max_body, skip_on_200));
    if (r.status != 401 || attempt == 1) return r;
    std::string www = r.header("www-authenticate");
    if (www.empty()) return r;
    BERTH_TRY_VOID(authorize(www, scope));
  }
  return make_error(Errc::internal, "unreachable");
}

namespace {

// The registry's error body: {"errors":[{"code","message","detail"}]}.
std::string registry_error_text(const std::string& body) {
  auto j = parse_json(body);
  if (!j || !j->is_object() || !j->contains("errors") || !(*j)["errors"].is_array() || (*j)["errors"].empty())
    return "";
  const Json& e = (*j)["errors"][0];
  std::string code = str::to_lower(e.value("code", std::string()));
  std::replace(code.begin(), code.end(), '_', ' ');
  std::string msg = e.value("message", std::string());
  return code + ": " + msg;
}

}  // namespace

Status Session::login() {
  auto r = BERTH_TRY(request("GET", url("/v2/"), {}, "", nullptr, nullptr, 0, 1 << 20));
  if (r.status == 200) return ok();
  if (r.status == 401)
    return make_error(Errc::unauthorized, "login attempt to " + url("/v2/") + " failed with status: 401 Unauthorized");
  return make_error(Errc::unavailable,
                    "login attempt to " + url("/v2/") + " failed with status: " + std::to_string(r.status));
}

Result<Manifest> Session::get_manifest(std::string_view ref) {
  std::vector<std::string> hs = {
      "Accept: " + std::string(kDockerManifest) + ", " + std::string(kDockerManifestList) + ", " +
      std::string(kOciManifest) + ", " + std::string(kOciIndex)};
  auto r = BERTH_TRY(request("GET", url("/v2/" + repo_ + "/manifests/" + std::string(ref)), hs, pull_scope(),
                             nullptr, nullptr, 0, kMaxManifestBytes));
  if (r.status == 404) {
    std::string t = registry_error_text(r.body);
    if (t.empty()) t = "manifest unknown: manifest unknown";
    return make_error(Errc::not_found, t);
  }
  if (r.status == 401 || r.status == 403) {
    std::string t = registry_error_text(r.body);
    return make_error(Errc::unauthorized, t.empty() ? "unauthorized: authentication required" : t);
  }
  if (r.status != 200) {
    std::string t = registry_error_text(r.body);
    return make_error(Errc::unavailable, "registry answered " + std::to_string(r.status) + (t.empty() ? "" : ": " + t));
  }
  Manifest m;
  m.bytes = std::move(r.body);
  m.digest = Digest::of(m.bytes);
  m.media_type = r.header("content-type");
  if (auto sc = m.media_type.find(';'); sc != std::string::npos) m.media_type = std::string(str::trim(m.media_type.substr(0, sc)));
  if (str::starts_with(ref, "sha256:") && m.digest.str() != ref)
    return make_error(Errc::invalid, "manifest verification failed for digest " + std::string(ref));
  // Some servers send a generic content type: trust the mediaType field.
  if (m.media_type.empty() || m.media_type == "application/json" || m.media_type == "text/plain") {
    auto j = parse_json(m.bytes);
    if (j && j->is_object()) m.media_type = j->value("mediaType", std::string());
  }
  return m;
}

Status Session::fetch_blob(const Digest& d, int64_t offset, const Sink& sink) {
  std::vector<std::string> hs;
  if (offset > 0) hs.push_back("Range: bytes=" + std::to_string(offset) + "-");
  // A server that ignores Range answers 200 with the whole blob: the
  // transfer skips the bytes we already have.
  auto r = BERTH_TRY(request("GET", url("/v2/" + repo_ + "/blobs/" + d.str()), hs, pull_scope(), &sink, nullptr, 0,
                             1 << 20, offset));
  if (r.status == 206 || r.status == 200) return ok();
  if (r.status == 416) return make_error(Errc::conflict, "range not satisfiable");
  std::string t = registry_error_text(r.body);
  if (r.status == 404) return make_error(Errc::not_found, t.empty() ? "blob unknown: blob unknown to registry" : t);
  if (r.status == 401 || r.status == 403)
    return make_error(Errc::unauthorized, t.empty() ? "unauthorized: authentication required" : t);
  return make_error(Errc::unavailable, "fetching blob " + d.str() + ": registry answered " + std::to_string(r.status));
}

Result<std::string> Session::fetch_small_blob(const Digest& d, int64_t limit) {
  std::string out;
  Sink s = [&](std::string_view data) -> Status {
    if (static_cast<int64_t>(out.size() + data.size()) > limit)
      return make_error(Errc::invalid, "blob " + d.str() + " is larger than " + std::to_string(limit) + " bytes: refused");
    out.append(data);
    return ok();
  };
  BERTH_TRY_VOID(fetch_blob(d, 0, s));
  if (Digest::of(out) != d) return make_error(Errc::invalid, "digest mismatch for blob " + d.str());
  return out;
}

Result<bool> Session::blob_exists(const Digest& d) {
  auto r = BERTH_TRY(request("HEAD", url("/v2/" + repo_ + "/blobs/" + d.str()), {}, push_scope(), nullptr,
                             nullptr, 0, 1 << 20));
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  if (r.status == 401 || r.status == 403) return make_error(Errc::unauthorized, "unauthorized: authentication required");
  return make_error(Errc::unavailable, "HEAD blob " + d.str() + ": registry answered " + std::to_string(r.status));
}

namespace {
std::string resolve_location(const std::string& base, const std::string& loc) {
  if (str::starts_with(loc, "http://") || str::starts_with(loc, "https://")) return loc;
  return base + loc;
}
std::string with_query(const std::string& u, const std::string& q) {
  return u + (u.find('?') == std::string::npos ? "?" : "&") + q;
}
}  // namespace

Result<Session::MountResult> Session::mount_blob(const Digest& d, std::string_view from) {
  std::string scope = push_scope() + " repository:" + std::string(from) + ":pull";
  auto r = BERTH_TRY(request("POST",
                             url("/v2/" + repo_ + "/blobs/uploads/?mount=" + d.str() + "&from=" +
                                 str::url_encode(from, "/")),
                             {}, push_scope(), nullptr, nullptr, 0, 1 << 20));
  if (r.status == 201) return MountResult{true, ""};
  if (r.status == 202) {
    // Not mounted: the upload session the registry opened instead is the
    // caller's to use (or cancel).
    std::string loc = r.header("location");
    return MountResult{false, loc.empty() ? "" : resolve_location(ep_.base_url(), loc)};
  }
  if (r.status == 401 || r.status == 403) return make_error(Errc::unauthorized, "unauthorized: authentication required");
  return MountResult{};
}

void Session::cancel_upload(const std::string& location) {
  if (!location.empty()) (void)request("DELETE", location, {}, push_scope(), nullptr, nullptr, 0, 1 << 20);
}

Status Session::upload_blob(const Digest& d, int64_t size, const Source& src, int64_t chunk_size,
                            const std::function<void(int64_t)>& progress, const std::string& location) {
  std::string loc = location;
  if (loc.empty()) {
    auto r = BERTH_TRY(request("POST", url("/v2/" + repo_ + "/blobs/uploads/"), {}, push_scope(), nullptr, nullptr,
                               0, 1 << 20));
    if (r.status == 401 || r.status == 403) {
      std::string t = registry_error_text(r.body);
      return make_error(Errc::unauthorized, t.empty() ? "unauthorized: authentication required" : t);
    }
    if (r.status != 202)
      return make_error(Errc::unavailable, "starting blob upload: registry answered " + std::to_string(r.status));
    loc = resolve_location(ep_.base_url(), r.header("location"));
  }
  int64_t sent = 0;
  Source counted = [&](char* buf, size_t n) -> Result<size_t> {
    auto k = BERTH_TRY(src(buf, n));
    sent += static_cast<int64_t>(k);
    if (progress) progress(sent);
    return k;
  };
  if (chunk_size > 0) {
    while (sent < size) {
      int64_t this_chunk = std::min(chunk_size, size - sent);
      int64_t left = this_chunk;
      Source part = [&](char* buf, size_t n) -> Result<size_t> {
        if (left <= 0) return size_t{0};
        auto k = BERTH_TRY(counted(buf, static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(n)))));
        left -= static_cast<int64_t>(k);
        return k;
      };
      std::string range = "Content-Range: " + std::to_string(sent) + "-" + std::to_string(sent + this_chunk - 1);
      auto pr = BERTH_TRY(request("PATCH", loc, {"Content-Type: application/octet-stream", range}, push_scope(),
                                  nullptr, &part, this_chunk, 1 << 20));
      if (pr.status != 202)
        return make_error(Errc::unavailable, "uploading blob chunk: registry answered " + std::to_string(pr.status));
      loc = resolve_location(ep_.base_url(), pr.header("location"));
    }
    auto fr = BERTH_TRY(request("PUT", with_query(loc, "digest=" + d.str()), {}, push_scope(), nullptr, nullptr, 0,
                                1 << 20));
    if (fr.status != 201)
      return make_error(Errc::unavailable, "completing blob upload: registry answered " + std::to_string(fr.status) +
                                               " " + registry_error_text(fr.body));
    return ok();
  }
  auto pr = BERTH_TRY(request("PUT", with_query(loc, "digest=" + d.str()),
                              {"Content-Type: application/octet-stream"}, push_scope(), nullptr, &counted, size,
                              1 << 20));
  if (pr.status != 201)
    return make_error(Errc::unavailable, "uploading blob: registry answered " + std::to_string(pr.status) + " " +
                                             registry_error_text(pr.body));
  return ok();
}

Result<Digest> Session::put_manifest(std::string_view ref, std::string_view media_type, std::string_view bytes) {
  std::string body(bytes);
  size_t pos = 0;
  Source src = [&](char* buf, size_t n) -> Result<size_t> {
    size_t k = std::min(n, body.size() - pos);
    std::memcpy(buf, body.data() + pos, k);
    pos += k;
    return k;
  };
  auto r = BERTH_TRY(request("PUT", url("/v2/" + repo_ + "/manifests/" + std::string(ref)),
                             {"Content-Type: " + std::string(media_type)}, push_scope(), nullptr, &src,
                             static_cast<int64_t>(body.size()), 1 << 20));
  if (r.status != 201 && r.status != 200) {
    std::string t = registry_error_text(r.body);
    return make_error(r.status == 401 || r.status == 403 ? Errc::unauthorized : Errc::unavailable,
                      "putting manifest: registry answered " + std::to_string(r.status) + (t.empty() ? "" : ": " + t));
  }
  return Digest::of(body);
}

Result<std::vector<std::string>> Session::catalog(int limit) {
  std::vector<std::string> out;
  std::string next = url("/v2/_catalog?n=" + std::to_string(std::max(limit, 1)));
  for (int page = 0; page < 100 && !next.empty(); ++page) {
    auto r = BERTH_TRY(request("GET", next, {}, "registry:catalog:*", nullptr, nullptr, 0, 8 << 20));
    if (r.status != 200)
      return make_error(r.status == 401 ? Errc::unauthorized : Errc::unavailable,
                        "catalog: registry answered " + std::to_string(r.status));
    auto j = parse_json(r.body);
    if (!j || !j->is_object()) return make_error(Errc::unavailable, "catalog: invalid JSON");
    if (j->contains("repositories") && (*j)["repositories"].is_array())
      for (const auto& e : (*j)["repositories"])
        if (e.is_string()) out.push_back(e.get<std::string>());
    next.clear();
    std::string link = r.header("link");
    auto lt = link.find('<'), gt = link.find('>');
    if (lt != std::string::npos && gt != std::string::npos && gt > lt)
      next = resolve_location(ep_.base_url(), link.substr(lt + 1, gt - lt - 1));
    if (static_cast<int>(out.size()) >= limit && limit > 0) break;
  }
  return out;
}

Result<std::vector<std::string>> Session::tags() {
  std::vector<std::string> out;
  std::string next = url("/v2/" + repo_ + "/tags/list");
  for (int page = 0; page < 100 && !next.empty(); ++page) {
    auto r = BERTH_TRY(request("GET", next, {}, pull_scope(), nullptr, nullptr, 0, 8 << 20));
    if (r.status == 404) return make_error(Errc::not_found, "repository " + repo_ + " not found");
    if (r.status == 401 || r.status == 403) return make_error(Errc::unauthorized, "tags list: registry answered " + std::to_string(r.status));
    if (r.status != 200) return make_error(Errc::unavailable, "tags list: registry answered " + std::to_string(r.status));
    auto j = parse_json(r.body);
    if (!j || !j->is_object()) return make_error(Errc::unavailable, "tags list: invalid JSON");
    if (j->contains("tags") && (*j)["tags"].is_array())
      for (const auto& e : (*j)["tags"])
        if (e.is_string()) out.push_back(e.get<std::string>());
    next.clear();
    std::string link = r.header("link");
    auto lt = link.find('<'), gt = link.find('>');
    if (lt != std::string::npos && gt != std::string::npos && gt > lt)
      next = resolve_location(ep_.base_url(), link.substr(lt + 1, gt - lt - 1));
  }
  return out;
}

}  // namespace berth::registry

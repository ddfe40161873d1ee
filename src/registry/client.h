// OCI distribution client (registry API v2) over libcurl: the /v2/ ping,
// anonymous / basic / bearer-token auth driven by WWW-Authenticate
// challenges, manifests by tag or digest, streamed blob downloads with
// Range resume, blob existence checks, cross-repository mounts, monolithic
// and chunked uploads, manifest PUT and the _catalog.
//
// One Session per (registry host, repository); it is safe to use from
// several threads at once (a request borrows a curl easy handle from the
// session's pool and gives it back, so its keep-alive connection serves the
// next request: one connection per concurrent worker, not one per request;
// the token cache is locked).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/id.h"
#include "common/json.h"
#include "common/result.h"

namespace berth::registry {

// What X-Registry-Auth / POST /auth carry.
struct AuthConfig {
  std::string username;
  std::string password;
  std::string identity_token;  // used as a refresh token (OAuth) when set
  std::string registry_token;  // a bearer token given directly
  std::string server_address;
  bool empty() const { return username.empty() && password.empty() && identity_token.empty() && registry_token.empty(); }
};

// base64url (or std base64) JSON of AuthConfig, as the docker CLI sends it.
// An empty or undecodable header gives an empty AuthConfig (as dockerd).
AuthConfig decode_auth_header(std::string_view header);
std::string base64_decode(std::string_view in);  // accepts std and url alphabets, padding optional
std::string base64_encode(std::string_view in);

// Media types.
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
bool is_layer_media_type(std::string_view mt);

// Manifests and configs are read whole; anything larger is refused.
inline constexpr int64_t kMaxManifestBytes = 8 << 20;

struct Endpoint {
  std::string host;        // "127.0.0.1:5000", "registry-1.docker.io"
  bool plain_http = false;  // insecure registry: http://
  std::string base_url() const { return (plain_http ? "http://" : "https://") + host; }
};

// Docker's default: the loopback range (and "localhost") is insecure; others
// must be listed (host, host:port or a CIDR of IPv4 addresses).
bool is_insecure(std::string_view host, const std::vector<std::string>& insecure_registries);
// "docker.io" → "registry-1.docker.io" (the API host of Docker Hub).
std::string api_host(std::string_view domain);

struct Manifest {
  std::string bytes;
  std::string media_type;
  Digest digest = Digest::of("");
};

// Sink for streamed bytes; a failed Status aborts the transfer.
using Sink = std::function<Status(std::string_view)>;
// Source for uploads: fill buf, return bytes (0 at the end).
using Source = std::function<Result<size_t>(char* buf, size_t n)>;

class Session {
 public:
  Session(Endpoint ep, std::string repo, AuthConfig auth);
  ~Session();
  const std::string& repo() const { return repo_; }
  const Endpoint& endpoint() const { return ep_; }

  // GET /v2/ with credentials (docker login). Errc::unauthorized-like
  // failures come back as Errc::permission with Docker's wording.
  Status login();
  // GET /v2/<repo>/manifests/<ref> (tag or digest), verified against a
  // digest reference and capped at kMaxManifestBytes.
  Result<Manifest> get_manifest(std::string_view ref);
  // Stream a blob from `offset` (Range) into sink. Returns total bytes
  // the server announced for the whole blob (-1 unknown).
  Status fetch_blob(const Digest& d, int64_t offset, const Sink& sink);
  // Whole small blob (config), capped at `limit`.
  Result<std::string> fetch_small_blob(const Digest& d, int64_t limit);
  // HEAD /v2/<repo>/blobs/<digest>.
  Result<bool> blob_exists(const Digest& d);
  // POST uploads/?mount=&from=: mounted when the registry answered 201.
  // A registry that cannot mount falls back to a plain upload session (202
  // with a Location, as the distribution spec says): its URL is kept in
  // upload_location for upload_blob, which then skips its own POST.
  struct MountResult {
    bool mounted = false;
    std::string upload_location;  // absolute URL; empty when none was opened
  };
  Result<MountResult> mount_blob(const Digest& d, std::string_view from_repo);
  // DELETE an upload session that will not be used (best effort).
  void cancel_upload(const std::string& location);
  // Upload a blob: POST to start (unless `location` is an open session from
  // mount_blob), then a single PUT (monolithic) or, when chunk_size > 0,
  // PATCH chunks then PUT.
  Status upload_blob(const Digest& d, int64_t size, const Source& src, int64_t chunk_size = 0,
                     const std::function<void(int64_t)>& progress = {}, const std::string& location = {});
  // PUT /v2/<repo>/manifests/<ref>; returns the digest the registry reports.
  Result<Digest> put_manifest(std::string_view ref, std::string_view media_type, std::string_view bytes);
  // GET /v2/<repo>/tags/list (paginated, bounded), in the registry's order.
  Result<std::vector<std::string>> tags();
  // GET /v2/_catalog (paginated, bounded).
  Result<std::vector<std::string>> catalog(int limit);

 private:
  struct Resp;
  // One HTTP exchange with auth retries.
  Result<Resp> request(const std::string& method, const std::string& url,
                       std::vector<std::string> headers, const std::string& scope,
                       const Sink* sink, const Source* body, int64_t body_size,
                       int64_t max_body, int64_t skip_on_200 = 0);
  Result<Resp> do_request(const std::string& method, const std::string& url,
                          const std::vector<std::string>& headers, const std::string& auth_header,
                          const Sink* sink, const Source* body, int64_t body_size, int64_t max_body,
                          int64_t skip_on_200 = 0);
  Status authorize(const std::string& challenge, const std::string& scope);
  std::string auth_header(const std::string& scope);
  std::string url(std::string_view path) const;
  std::string pull_scope() const { return "repository:" + repo_ + ":pull"; }
  std::string push_scope() const { return "repository:" + repo_ + ":pull,push"; }

  Endpoint ep_;
  std::string repo_;
  AuthConfig auth_;
  std::mutex mu_;
  std::map<std::string, std::string> tokens_;  // scope → "Bearer x" / "Basic y"
  std::string basic_;                          // when the registry asked for Basic
  // Idle curl easy handles (CURL*), each with its connection cache.
  std::mutex pool_mu_;
  std::vector<void*> idle_;
};

// Parse `Bearer realm="...",service="...",scope="..."` / `Basic realm=...`.
struct Challenge {
  std::string scheme;  // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;
};
std::optional<Challenge> parse_challenge(std::string_view header);

}  // namespace berth::registry

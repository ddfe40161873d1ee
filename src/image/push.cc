#include "image/push.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/strings.h"
#include "image/reference.h"

namespace berth::image {

namespace {

std::string short_hex(std::string_view digest) {
  auto c = digest.find(':');
  return std::string((c == std::string_view::npos ? digest : digest.substr(c + 1)).substr(0, 12));
}

struct Upload {
  std::string id;  // short diff ID
  LayerBlob blob;
  Status result;
};

Status upload_file(registry::Session& s, content::BlobStore& blobs, const Digest& d, int64_t size,
                   int64_t chunk_size, const std::function<void(int64_t)>& progress, const std::string& session) {
  UniqueFd fd(::open(blobs.path(d).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error("open blob " + d.str());
  registry::Source src = [&](char* buf, size_t n) -> Result<size_t> {
    for (;;) {
      ssize_t k = ::read(fd.get(), buf, n);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return sys_error("read blob " + d.str());
      return static_cast<size_t>(k);
    }
  };
  return s.upload_blob(d, size, src, chunk_size, progress, session);
}

Status push_layer(ImageStore& store, registry::Session& s, Upload& u, int64_t chunk_size,
                  const ProgressFn& progress) {
  auto d = BERTH_TRY(Digest::parse(u.blob.digest));
  if (BERTH_TRY(s.blob_exists(d))) {
    progress(progress_msg(u.id, "Layer already exists"));
    return ok();
  }
  // A failed mount leaves an upload session open (202 + Location): the
  // layer goes up through it, without a DELETE and a second POST.
  std::string session;
  for (const auto& [reg, repo] : store.blob_sources(u.blob.digest)) {
    if (reg != s.endpoint().host || repo == s.repo()) continue;
    auto mounted = s.mount_blob(d, repo);
    if (!mounted) continue;
    if (mounted->mounted) {
      s.cancel_upload(session);
      progress(progress_msg(u.id, "Mounted from " + repo));
      return ok();
    }
    if (!mounted->upload_location.empty()) {
      s.cancel_upload(session);
      session = mounted->upload_location;
    }
  }
  auto last = std::chrono::steady_clock::now();
  auto cb = [&](int64_t sent) {
    auto now = std::chrono::steady_clock::now();
    if (sent >= u.blob.size || now - last >= std::chrono::milliseconds(100)) {
      last = now;
      progress(progress_msg(u.id, "Pushing", sent, u.blob.size));
    }
  };
  BERTH_TRY_VOID(upload_file(s, store.blobs(), d, u.blob.size, chunk_size, cb, session));
  progress(progress_msg(u.id, "Pushed"));
  return ok();
}

}  // namespace

Status push(ImageStore& store, const RegistryOptions& opts, const PushRequest& req, const ProgressFn& progress) {
  auto ref = BERTH_TRY(parse_reference(req.name));
  if (!ref.digest.empty()) return make_error(Errc::invalid, "cannot push a digest reference");
  std::string tag = req.tag.empty() ? ref.tag : req.tag;
  if (!tag.empty() && !is_valid_tag(tag)) return make_error(Errc::invalid, "invalid tag format");
  const std::string name = ref.familiar_name();
  std::vector<std::pair<std::string, Image>> targets;  // tag → image
  if (!tag.empty()) {
    auto img = store.resolve(name + ":" + tag);
    if (!img) return make_error(Errc::not_found, "tag does not exist: " + name + ":" + tag);
    targets.emplace_back(tag, *img);
  } else {
    for (const auto& img : store.list())
      for (const auto& t : img.repo_tags)
        if (t.size() > name.size() && t.compare(0, name.size(), name) == 0 && t[name.size()] == ':')
          targets.emplace_back(t.substr(name.size() + 1), img);
    std::sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    if (targets.empty()) return make_error(Errc::not_found, "An image does not exist locally with the tag: " + name);
  }
  // Everything checkable is checked before the stream starts.
  std::vector<std::vector<Upload>> plans;
  for (const auto& [t, img] : targets) {
    std::vector<Upload> ups;
    for (const auto& diff : ImageStore::diff_ids(img)) {
      auto bl = store.layer_blobs(diff);
      if (bl.empty())
        return make_error(Errc::not_found, "layer " + diff + " of " + name + ":" + t +
                                               " has no compressed blob to push (it was stored before berth kept them)");
      ups.push_back(Upload{short_hex(diff), bl.front(), ok()});
    }
    plans.push_back(std::move(ups));
  }

  registry::Session s(endpoint_for(ref.domain, opts), ref.path, req.auth);
  progress(Json{{"status", "The push refers to repository [" + ref.full_name() + "]"}});
  for (size_t ti = 0; ti < targets.size(); ++ti) {
    const auto& [t, img] = targets[ti];
    auto& ups = plans[ti];
    // Docker lists layers top first.
    std::vector<Upload*> order;
    for (auto it = ups.rbegin(); it != ups.rend(); ++it) order.push_back(&*it);
    // A layer appearing twice is pushed once.
    std::vector<Upload*> uniq;
    for (auto* u : order) {
      bool dup = false;
      for (auto* v : uniq) dup |= v->blob.digest == u->blob.digest;
      if (!dup) uniq.push_back(u);
    }
    for (auto* u : uniq) progress(progress_msg(u->id, "Preparing"));
    const size_t workers = std::max<size_t>(
        1, std::min<size_t>(uniq.size(), static_cast<size_t>(std::max(1, opts.max_concurrent_uploads))));
    for (size_t i = workers; i < uniq.size(); ++i) progress(progress_msg(uniq[i]->id, "Waiting"));
    // The config blob is one more job for the same workers, taken first
    // (it is small): it no longer waits for the last layer, then adds its
    // own round trips before the manifest.
    auto cfg_digest = BERTH_TRY(Digest::parse(img.id));
    std::string cfg_bytes = BERTH_TRY(store.blobs().get(cfg_digest));
    auto push_config = [&]() -> Status {
      if (BERTH_TRY(s.blob_exists(cfg_digest))) return ok();
      size_t pos = 0;
      registry::Source src = [&](char* buf, size_t n) -> Result<size_t> {
        size_t k = std::min(n, cfg_bytes.size() - pos);
        std::memcpy(buf, cfg_bytes.data() + pos, k);
        pos += k;
        return k;
      };
      return s.upload_blob(cfg_digest, static_cast<int64_t>(cfg_bytes.size()), src);
    };
    Status cfg_result = ok();
    const size_t jobs = uniq.size() + 1;  // job 0: the config
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::vector<std::thread> ts;
    for (size_t w = 0; w < workers; ++w)
      ts.emplace_back([&] {
        for (;;) {
          if (failed) return;
          size_t k = next++;
          if (k >= jobs) return;
          if (k == 0) {
            cfg_result = push_config();
            if (!cfg_result) failed = true;
            continue;
          }
          Upload& u = *uniq[k - 1];
          u.result = push_layer(store, s, u, req.chunk_size, progress);
          if (!u.result) failed = true;
        }
      });
    for (auto& th : ts) th.join();
    for (auto* u : uniq)
      if (!u->result) return std::move(u->result).error();
    if (!cfg_result) return std::move(cfg_result).error();

    Json layers = Json::array();
    for (const auto& u : ups) {
      std::string mt = u.blob.media_type;
      if (mt == registry::kOciLayerGzip) mt = std::string(registry::kDockerLayerGzip);
      layers.push_back(Json{{"mediaType", mt}, {"size", u.blob.size}, {"digest", u.blob.digest}});
    }
    Json man = {{"schemaVersion", 2},
                {"mediaType", registry::kDockerManifest},
                {"config", Json{{"mediaType", registry::kDockerConfig},
                                {"size", static_cast<int64_t>(cfg_bytes.size())},
                                {"digest", img.id}}},
                {"layers", layers}};
    std::string mbytes = man.dump(3);
    auto md = BERTH_TRY(s.put_manifest(t, registry::kDockerManifest, mbytes));
    for (const auto& u : ups) (void)store.add_blob_source(u.blob.digest, s.endpoint().host, ref.path);
    (void)store.add_repo_digest(img.id, name + "@" + md.str());
    const int64_t msize = static_cast<int64_t>(mbytes.size());
    progress(Json{{"status", t + ": digest: " + md.str() + " size: " + std::to_string(msize)}});
    progress(Json{{"progressDetail", Json::object()},
                  {"aux", Json{{"Tag", t}, {"Digest", md.str()}, {"Size", msize}}}});
  }
  return ok();
}

}  // namespace berth::image

#include "image/pull.h"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "common/fs.h"
#include "common/strings.h"
#include "image/reference.h"
#include "snapshot/layer_apply.h"

namespace berth::image {

namespace {

std::string go_arch_name() {
  struct utsname u {};
  if (::uname(&u) != 0) return "amd64";
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64" || m == "arm64") return "arm64";
  if (m.rfind("armv", 0) == 0) return "arm";
  if (m == "i386" || m == "i686") return "386";
  return m;
}

std::string short_id(std::string_view digest) {
  auto c = digest.find(':');
  std::string_view hex = c == std::string_view::npos ? digest : digest.substr(c + 1);
  return std::string(hex.substr(0, 12));
}

struct LayerDesc {
  std::string media_type;
  Digest digest = Digest::of("");
  int64_t size = 0;
};

Result<LayerDesc> parse_desc(const Json& j, const char* what) {
  if (!j.is_object()) return make_error(Errc::invalid, std::string("manifest: invalid ") + what + " descriptor");
  LayerDesc d;
  d.media_type = j.value("mediaType", std::string());
  auto dg = Digest::parse(j.value("digest", std::string()));
  if (!dg) return make_error(Errc::invalid, std::string("manifest: invalid ") + what + " digest");
  d.digest = *dg;
  if (!j.contains("size") || !j["size"].is_number_integer() || j["size"].get<int64_t>() < 0)
    return make_error(Errc::invalid, std::string("manifest: invalid ") + what + " size");
  d.size = j["size"].get<int64_t>();
  return d;
}

// Write all of data to a pipe (the extractor reads the other end).
Status write_pipe(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write to extractor");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

class Throttle {
 public:
  bool due(int64_t cur, int64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (cur >= total || now - last_ >= std::chrono::milliseconds(100)) {
      last_ = now;
      return true;
    }
    return false;
  }

 private:
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

std::string default_platform() { return "linux/" + go_arch_name(); }

std::string human_size(double b) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int i = 0;
  while (b >= 1000.0 && i < 5) {
    b /= 1000.0;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%s", b, units[i]);
  return buf;
}

std::string progress_bar(int64_t current, int64_t total) {
  if (total <= 0) return human_size(static_cast<double>(current));
  constexpr int width = 50;
  int64_t c = std::min(current, total);
  int pct = static_cast<int>(static_cast<double>(width) * static_cast<double>(c) / static_cast<double>(total));
  std::string bar = "[" + std::string(static_cast<size_t>(pct), '=');
  if (pct < width) bar += ">" + std::string(static_cast<size_t>(width - pct - 1), ' ');
  bar += "] ";
  std::string nums = human_size(static_cast<double>(current)) + "/" + human_size(static_cast<double>(total));
  if (nums.size() < 18) nums = std::string(18 - nums.size(), ' ') + nums;
  return bar + nums;
}

Json progress_msg(const std::string& id, const std::string& status) {
  return Json{{"status", status}, {"progressDetail", Json::object()}, {"id", id}};
}

Json progress_msg(const std::string& id, const std::string& status, int64_t current, int64_t total) {
  return Json{{"status", status},
              {"progressDetail", Json{{"current", current}, {"total", total}}},
              {"progress", progress_bar(current, total)},
              {"id", id}};
}

registry::Endpoint endpoint_for(std::string_view domain, const RegistryOptions& opts) {
  registry::Endpoint ep;
  ep.host = registry::api_host(domain);
  ep.plain_http = registry::is_insecure(domain, opts.insecure_registries);
  return ep;
}

std::vector<registry::Endpoint> pull_endpoints(std::string_view domain, const RegistryOptions& opts) {
  std::vector<registry::Endpoint> out;
  if (domain == "docker.io") {
    for (const auto& m : opts.mirrors) {
      registry::Endpoint ep;
      std::string u = m;
      if (str::starts_with(u, "https://")) {
        u = u.substr(8);
      } else if (str::starts_with(u, "http://")) {
        u = u.substr(7);
        ep.plain_http = true;
      } else {
        continue;  // daemon.json validation keeps these out; never guess a scheme
      }
      ep.host = u.substr(0, u.find('/'));
      if (!ep.host.empty()) out.push_back(ep);
    }
  }
  out.push_back(endpoint_for(domain, opts));
  return out;
}

bool platform_matches(const Json& p, std::string_view wanted) {
  if (!p.is_object()) return false;
  auto parts = str::split(wanted, '/');
  if (parts.size() < 2) return false;
  if (p.value("os", std::string()) != parts[0] || p.value("architecture", std::string()) != parts[1]) return false;
  if (parts.size() >= 3) return p.value("variant", std::string()) == parts[2];
  return true;
}

namespace {

struct Job {
  size_t index = 0;
  LayerDesc desc;
  Digest chain = Digest::of("");
  Digest diff_id = Digest::of("");
  std::string id;  // short progress id
  TmpLayer tmp;
  int64_t size = 0;
  Status result;
};

// Download one layer into the content store while extracting it.
Status fetch_layer(ImageStore& store, registry::Session& s, Job& job, const ProgressFn& progress) {
  auto& blobs = store.blobs();
  job.tmp = BERTH_TRY(store.make_tmp_layer());
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  (void)::fcntl(wr.get(), F_SETPIPE_SZ, 1 << 20);
  Result<snapshot::ApplyResult> applied = make_error(Errc::internal, "not extracted");
  std::thread extractor([&] {
    applied = snapshot::apply_tar(rd.get(), job.tmp.diff_fd());
    rd.reset();  // the writer sees EPIPE if extraction stopped early
  });
  ScopeExit join([&] {
    wr.reset();
    if (extractor.joinable()) extractor.join();
  });

  Status dl = [&]() -> Status {
    auto w = BERTH_TRY(blobs.resume(job.desc.digest));
    if (!w) {
      // Already in the content store (another download committed it).
      UniqueFd in(::open(blobs.path(job.desc.digest).c_str(), O_RDONLY | O_CLOEXEC));
      if (!in) return sys_error("open blob " + job.desc.digest.str());
      std::vector<char> buf(1 << 20);
      for (;;) {
        ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("read blob");
        if (n == 0) break;
        BERTH_TRY_VOID(write_pipe(wr.get(), std::string_view(buf.data(), static_cast<size_t>(n))));
      }
      progress(progress_msg(job.id, "Download complete"));
      return ok();
    }
    if (w->size() > job.desc.size) BERTH_TRY_VOID(w->reset());
    // Resumed: the extractor needs the stream from its first byte.
    int64_t have = w->size();
    if (have > 0) {
      UniqueFd in(::open(w->ingest_path().c_str(), O_RDONLY | O_CLOEXEC));
      if (!in) return sys_error("open partial download");
      std::vector<char> buf(1 << 20);
      int64_t left = have;
      while (left > 0) {
        ssize_t n = ::read(in.get(), buf.data(), static_cast<size_t>(std::min<int64_t>(left, 1 << 20)));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return sys_error("read partial download");
        BERTH_TRY_VOID(write_pipe(wr.get(), std::string_view(buf.data(), static_cast<size_t>(n))));
        left -= n;
      }
    }
    Throttle th;
    int64_t cur = have;
    registry::Sink sink = [&](std::string_view data) -> Status {
      if (cur + static_cast<int64_t>(data.size()) > job.desc.size) {
        w->abandon();
        return make_error(Errc::invalid, "blob " + job.desc.digest.str() + " is larger than the " +
                                             std::to_string(job.desc.size) + " bytes its manifest states");
      }
      BERTH_TRY_VOID(w->write(data));
      BERTH_TRY_VOID(write_pipe(wr.get(), data));
      cur += static_cast<int64_t>(data.size());
      if (th.due(cur, job.desc.size)) progress(progress_msg(job.id, "Downloading", cur, job.desc.size));
      return ok();
    };
    if (have < job.desc.size || job.desc.size == 0) {
      auto st = s.fetch_blob(job.desc.digest, have, sink);
      if (!st) {
        if (st.error().kind == Errc::conflict && have > 0) {
          w->abandon();  // the server cannot resume: start over next time
        }
        return st;
      }
    }
    if (cur != job.desc.size) {
      w->abandon();
      return make_error(Errc::invalid, "blob " + job.desc.digest.str() + ": got " + std::to_string(cur) +
                                           " bytes, its manifest states " + std::to_string(job.desc.size));
    }
    progress(progress_msg(job.id, "Verifying Checksum"));
    auto committed = w->commit(job.desc.digest);
    if (!committed)
      return make_error(Errc::invalid, "filesystem layer verification failed for digest " + job.desc.digest.str());
    progress(progress_msg(job.id, "Download complete"));
    return ok();
  }();
  wr.reset();
  extractor.join();
  if (!applied) {
    // A broken layer never stays behind, not even as a partial download.
    blobs.drop_partial(job.desc.digest);
    return std::move(applied).error().wrap("failed to register layer");
  }
  if (!dl) return dl;
  if (applied->diff_id != job.diff_id)
    return make_error(Errc::invalid, "failed to register layer: layer " + job.desc.digest.str() +
                                         " has diff ID " + applied->diff_id.str() + ", its config states " +
                                         job.diff_id.str());
  job.size = applied->size;
  progress(progress_msg(job.id, "Extracting", job.desc.size, job.desc.size));
  progress(progress_msg(job.id, "Pull complete"));
  return ok();
}

}  // namespace

Result<PullResult> pull(ImageStore& store, const RegistryOptions& opts, const PullRequest& req,
                        const ProgressFn& progress) {
  auto ref = BERTH_TRY(parse_reference(req.ref));
  if (req.all_tags && ref.tag.empty() && ref.digest.empty()) {
    registry::Session ts(endpoint_for(ref.domain, opts), ref.path, req.auth);
    auto tags = ts.tags();
    if (!tags) {
      auto e = std::move(tags).error();
      if (e.kind == Errc::not_found || e.kind == Errc::unauthorized)
        return make_error(Errc::not_found, "pull access denied for " + ref.familiar_name() +
                                               ", repository does not exist or may require 'docker login': " + e.msg);
      return e;
    }
    if (tags->empty()) return make_error(Errc::not_found, "no tags available for " + ref.familiar_name());
    PullResult last;
    bool any_new = false;
    for (const auto& t : *tags) {
      PullRequest one = req;
      one.all_tags = false;
      one.final_status = false;
      one.ref = ref.full_name() + ":" + t;
      last = BERTH_TRY(pull(store, opts, one, progress));
      any_new |= last.downloaded;
    }
    last.familiar = ref.familiar_name();
    last.downloaded = any_new;
    progress(Json{{"status", any_new ? "Status: Downloaded newer image for " + last.familiar
                                     : "Status: Image is up to date for " + last.familiar}});
    return last;
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  const std::string tag_or_digest = ref.digest.empty() ? ref.tag : ref.digest;
  const std::string full_ref = ref.full_name() + (ref.digest.empty() ? ":" + ref.tag : "@" + ref.digest);
  // Docker Hub references try each registry mirror first and fall back to
  // the origin when a mirror fails or lacks the manifest.
  const auto endpoints = pull_endpoints(ref.domain, opts);
  std::unique_ptr<registry::Session> sp;
  Result<registry::Manifest> man = make_error(Errc::internal, "no registry endpoint");
  for (size_t i = 0; i < endpoints.size(); ++i) {
    sp = std::make_unique<registry::Session>(endpoints[i], ref.path, req.auth);
    man = sp->get_manifest(tag_or_digest);
    if (man) break;
  }
  registry::Session& s = *sp;
  if (!man) {
    auto e = std::move(man).error();
    if (e.kind == Errc::not_found)
      return make_error(Errc::not_found, "manifest for " + full_ref + " not found: " + e.msg);
    if (e.kind == Errc::unauthorized)
      return make_error(Errc::not_found, "pull access denied for " + ref.familiar_name() +
                                             ", repository does not exist or may require 'docker login': " + e.msg);
    return e;
  }
  const Digest top_digest = man->digest;
  const std::string wanted = req.platform.empty() ? default_platform() : req.platform;
  for (int depth = 0; depth < 2; ++depth) {
    if (man->media_type != registry::kDockerManifestList && man->media_type != registry::kOciIndex) break;
    auto idx = parse_json(man->bytes);
    if (!idx || !idx->is_object() || !idx->contains("manifests") || !(*idx)["manifests"].is_array())
      return make_error(Errc::invalid, "invalid manifest list");
    std::optional<Digest> pick;
    for (const auto& m : (*idx)["manifests"]) {
      if (!m.is_object() || !platform_matches(m.value("platform", Json()), wanted)) continue;
      auto d = Digest::parse(m.value("digest", std::string()));
      if (d) {
        pick = *d;
        break;
      }
    }
    if (!pick) return make_error(Errc::not_found, "no matching manifest for " + wanted + " in the manifest list entries");
    man = BERTH_TRY(s.get_manifest(pick->str()));
    if (man->digest != *pick) return make_error(Errc::invalid, "manifest digest mismatch");
  }
  if (man->media_type == "application/vnd.docker.distribution.manifest.v1+json" ||
      man->media_type == "application/vnd.docker.distribution.manifest.v1+prettyjws")
    return make_error(Errc::invalid, "schema1 manifests are not supported (pull " + full_ref + ")");
  if (man->media_type != registry::kDockerManifest && man->media_type != registry::kOciManifest)
    return make_error(Errc::invalid, "unsupported manifest media type \"" + man->media_type + "\"");
  auto mj = parse_json(man->bytes);
  if (!mj || !mj->is_object()) return make_error(Errc::invalid, "invalid manifest JSON");
  auto cdesc = BERTH_TRY(parse_desc(mj->value("config", Json()), "config"));
  if (cdesc.media_type != registry::kDockerConfig && cdesc.media_type != registry::kOciConfig)
    return make_error(Errc::invalid, "unsupported config media type \"" + cdesc.media_type + "\"");
  if (cdesc.size > registry::kMaxManifestBytes)
    return make_error(Errc::invalid, "image config of " + std::to_string(cdesc.size) + " bytes refused (limit " +
                                         std::to_string(registry::kMaxManifestBytes) + ")");
  std::vector<LayerDesc> layers;
  if (mj->contains("layers") && (*mj)["layers"].is_array())
    for (const auto& l : (*mj)["layers"]) {
      auto d = BERTH_TRY(parse_desc(l, "layer"));
      if (!registry::is_layer_media_type(d.media_type) || d.media_type == registry::kDockerForeignLayer)
        return make_error(Errc::invalid, "unsupported layer media type \"" + d.media_type + "\"");
      layers.push_back(std::move(d));
    }

  // Stream starts here (Docker prints this once the manifest is known).
  progress(Json{{"status", "Pulling from " + ref.path}, {"id", tag_or_digest}});

  std::string cfg_bytes = BERTH_TRY(s.fetch_small_blob(cdesc.digest, std::min(cdesc.size, registry::kMaxManifestBytes)));
  if (static_cast<int64_t>(cfg_bytes.size()) != cdesc.size)
    return make_error(Errc::invalid, "image config size differs from its descriptor");
  auto cfg = parse_json(cfg_bytes);
  if (!cfg || !cfg->is_object()) return make_error(Errc::invalid, "invalid image config JSON");
  std::vector<Digest> diff_ids;
  if (cfg->contains("rootfs") && (*cfg)["rootfs"].is_object() && (*cfg)["rootfs"].contains("diff_ids") &&
      (*cfg)["rootfs"]["diff_ids"].is_array())
    for (const auto& d : (*cfg)["rootfs"]["diff_ids"]) {
      auto dd = Digest::parse(d.is_string() ? d.get<std::string>() : "");
      if (!dd) return make_error(Errc::invalid, "invalid diff ID in image config");
      diff_ids.push_back(*dd);
    }
  if (diff_ids.size() != layers.size())
    return make_error(Errc::invalid, "image config has " + std::to_string(diff_ids.size()) + " diff IDs for " +
                                         std::to_string(layers.size()) + " layers");

  PullResult out;
  out.digest = top_digest.str();
  out.familiar = ref.digest.empty() ? ref.familiar_name() + ":" + ref.tag : ref.familiar_name() + "@" + ref.digest;
  const std::string image_id = Digest::of(cfg_bytes).str();
  bool had_image = static_cast<bool>(store.resolve(image_id));

  std::vector<std::unique_ptr<Job>> jobs;
  std::vector<Job*> todo;
  std::optional<Digest> parent;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto j = std::make_unique<Job>();
    j->index = i;
    j->desc = layers[i];
    j->diff_id = diff_ids[i];
    j->chain = snapshot::chain_id(parent ? &*parent : nullptr, diff_ids[i]);
    parent = j->chain;
    j->id = short_id(layers[i].digest.str());
    if (store.has_layer(j->chain)) {
      if (!had_image) progress(progress_msg(j->id, "Already exists"));
    } else {
      progress(progress_msg(j->id, "Pulling fs layer"));
      todo.push_back(j.get());
    }
    jobs.push_back(std::move(j));
  }
  const size_t workers = std::max<size_t>(1, std::min<size_t>(todo.size(), static_cast<size_t>(std::max(1, opts.max_concurrent_downloads))));
  for (size_t i = workers; i < todo.size(); ++i) progress(progress_msg(todo[i]->id, "Waiting"));
  if (!todo.empty()) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::vector<std::thread> ts;
    for (size_t w = 0; w < workers; ++w)
      ts.emplace_back([&] {
        for (;;) {
          if (failed) return;
          size_t k = next++;
          if (k >= todo.size()) return;
          todo[k]->result = fetch_layer(store, s, *todo[k], progress);
          if (!todo[k]->result) failed = true;
        }
      });
    for (auto& t : ts) t.join();
    for (auto* j : todo)
      if (!j->result) return std::move(j->result).error();
  }

  NewImage n;
  n.config_bytes = cfg_bytes;
  for (auto& j : jobs) {
    NewImage::Layer l;
    l.chain = j->chain;
    l.diff_id = j->diff_id;
    if (!j->tmp.name().empty()) {
      l.tmp = &j->tmp;
      l.size = j->size;
      n.blobs.push_back(LayerBlob{j->diff_id.str(), j->desc.digest.str(), j->desc.media_type, j->desc.size});
    } else {
      l.size = store.layer_size(j->chain);
    }
    n.layers.push_back(l);
  }
  if (ref.digest.empty()) n.tags.push_back(ref.familiar_name() + ":" + ref.tag);
  n.digests.push_back(ref.familiar_name() + "@" + top_digest.str());
  auto before = store.resolve(out.familiar);
  out.image = BERTH_TRY(store.commit_image(n));
  for (const auto& l : layers) (void)store.add_blob_source(l.digest.str(), s.endpoint().host, ref.path);
  out.downloaded = !had_image || !before || before->id != out.image.id;
  progress(Json{{"status", "Digest: " + top_digest.str()}});
  if (req.final_status)
    progress(Json{{"status", out.downloaded ? "Status: Downloaded newer image for " + out.familiar
                                          : "Status: Image is up to date for " + out.familiar}});
  return out;
}

}  // namespace berth::image

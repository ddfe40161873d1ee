// GET/HEAD/PUT /containers/{id}/archive (docker cp) and
// GET /containers/{id}/export.
#include <fcntl.h>
#include <unistd.h>


#include "common/fs.h"
#include "common/base64.h"
#include "common/strings.h"
#include "container/archive.h"
#include "daemon/routes.h"

namespace berth::daemon {

namespace {

// Buffers the tar into ~256 KiB chunks of the response.
class ChunkSink {
 public:
  explicit ChunkSink(Response& res) : res_(res) {}
  Status write(std::string_view d) {
    buf_.append(d);
    if (buf_.size() >= (256 << 10)) return flush();
    return ok();
  }
  Status flush() {
    if (buf_.empty()) return ok();
    auto st = res_.chunk(buf_);
    buf_.clear();
    return st;
  }

 private:
  Response& res_;
  std::string buf_;
};

// Errors after the head went out cannot change the status: the stream is
// cut short (no last chunk), which clients report as a broken archive.
Status finish_stream(Response& res, ChunkSink& sink, Status st) {
  if (!st) {
    res.set_keep_alive(false);
    return ok();
  }
  BERTH_TRY_VOID(sink.flush());
  return res.end_stream();
}

}  // namespace

void add_archive_routes(Router& r, Backends& b) {
  auto& cs = b.containers;

  // HEAD is routed here too (the server answers it without a body).
  r.add("GET", "/containers/{id}/archive", [&cs, &b](Request& req, Response& res) -> Status {
    std::string path = req.q("path").value_or("");
    bool head = req.method == "HEAD";
    ChunkSink sink(res);
    bool started = false;
    auto st = cs.with_rootfs(req.param("id"), [&](const container::Record& rec) {
      return container::archive_get(
          rec, b.sys.data_root, req.param("id"), path, head,
          [&](const std::string& stat) -> Status {
            std::vector<api::Header> h{{"X-Docker-Container-Path-Stat", str::base64_encode(stat)}};
            if (head) return res.send(200, "", "", h);
            started = true;
            return res.start_stream(200, "application/x-tar", h);
          },
          [&](std::string_view d) { return sink.write(d); });
    });
    if (!started) return st;
    return finish_stream(res, sink, std::move(st));
  });

  r.add("PUT", "/containers/{id}/archive", [&cs, &b](Request& req, Response& res) -> Status {
    BERTH_TRY_VOID(cs.get(req.param("id")));  // 404 before reading the body
    container::ExtractRequest er;
    er.path = req.q("path").value_or("");
    er.no_overwrite_dir_non_dir = req.qbool("noOverwriteDirNonDir");
    er.chown = req.qbool("copyUIDGID");
    auto body = BERTH_TRY(BodyPipe::open(req));
    auto st = cs.with_rootfs(req.param("id"), [&](const container::Record& rec) {
      return container::archive_put(rec, b.sys.data_root, req.param("id"), er, body->fd());
    });
    if (Status body_status = body->finish(); !body_status) {
      res.set_keep_alive(false);
      return body_status;
    }
    if (!st) {
      if (!req.conn->body_done()) res.set_keep_alive(false);
      return st;
    }
    return res.send(200, "", "");
  });

  r.add("GET", "/containers/{id}/export", [&cs, &b](Request& req, Response& res) -> Status {
    ChunkSink sink(res);
    bool started = false;
    auto st = cs.with_rootfs(req.param("id"), [&](const container::Record& rec) {
      return container::export_rootfs(rec, b.sys.data_root, [&](std::string_view d) -> Status {
        if (!started) {
          started = true;
          BERTH_TRY_VOID(res.start_stream(200, "application/octet-stream"));
        }
        return sink.write(d);
      });
    });
    if (!started) {
      if (!st) return st;
      BERTH_TRY_VOID(res.start_stream(200, "application/octet-stream"));
    }
    return finish_stream(res, sink, std::move(st));
  });
}

}  // namespace berth::daemon

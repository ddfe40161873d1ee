// A plain streamed HTTP(S) GET (docker import URL: `fromSrc=http://…`),
// over the same libcurl as the registry client: redirects followed (http
// and https only), system CAs, no credentials sent.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/result.h"
#include "registry/client.h"

namespace berth::registry {

// Streams the body into `sink`; `on_length` (optional) is told the
// Content-Length (-1 unknown) once the response headers are in. A status
// >= 400 fails like dockerd: "failed to GET URL with status 404 Not Found:
// <start of body>"; a refused connection names curl's reason.
Status http_get(const std::string& url, const Sink& sink, const std::function<void(int64_t)>& on_length = {});

}  // namespace berth::registry

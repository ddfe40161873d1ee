#include "logging/local_file.h"

#include <cstring>

#include "common/id.h"

namespace berth::logging {

namespace {

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(std::string& out, int field, int wire) { put_varint(out, static_cast<uint64_t>(field << 3 | wire)); }

void put_bytes(std::string& out, int field, std::string_view b) {
  if (b.empty()) return;  // proto3 default
  put_tag(out, field, 2);
  put_varint(out, b.size());
  out.append(b);
}

void put_be32(std::string& out, uint32_t n) {
  char b[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
               static_cast<char>(n)};
  out.append(b, 4);
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  bool varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i_ >= s_.size()) return false;
      auto b = static_cast<unsigned char>(s_[i_++]);
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool bytes(std::string_view* b) {
    uint64_t n;
    if (!varint(&n) || n > s_.size() - i_) return false;
    *b = s_.substr(i_, n);
    i_ += n;
    return true;
  }
  bool skip(int wire) {
    uint64_t v;
    std::string_view b;
    switch (wire) {
      case 0: return varint(&v);
      case 1: return advance(8);
      case 2: return bytes(&b);
      case 5: return advance(4);
      default: return false;
    }
  }

 private:
  bool advance(size_t n) {
    if (n > s_.size() - i_) return false;
    i_ += n;
    return true;
  }
  std::string_view s_;
  size_t i_ = 0;
};

Error malformed() { return make_error(Errc::invalid, "malformed local log entry"); }

}  // namespace

void encode_local_entry(std::string& out, const LocalEntry& e) {
  put_bytes(out, 1, e.source);
  if (e.time_nano != 0) {
    put_tag(out, 2, 0);
    put_varint(out, static_cast<uint64_t>(e.time_nano));
  }
  put_bytes(out, 3, e.line);
  if (e.partial) {
    put_tag(out, 4, 0);
    out.push_back(1);
  }
  if (e.has_meta) {
    std::string m;
    if (e.last) {
      put_tag(m, 1, 0);
      m.push_back(1);
    }
    put_bytes(m, 2, e.id);
    if (e.ordinal != 0) {
      put_tag(m, 3, 0);
      put_varint(m, static_cast<uint64_t>(static_cast<int64_t>(e.ordinal)));  // int32: sign-extended
    }
    put_tag(out, 5, 2);
    put_varint(out, m.size());
    out.append(m);
  }
}

void append_local_record(std::string& out, const LocalEntry& e) {
  size_t at = out.size();
  out.append(4, '\0');
  encode_local_entry(out, e);
  auto n = static_cast<uint32_t>(out.size() - at - 4);
  std::string hdr;
  put_be32(hdr, n);
  std::memcpy(out.data() + at, hdr.data(), 4);
  put_be32(out, n);
}

Result<LocalEntry> decode_local_entry(std::string_view proto) {
  LocalEntry e;
  Cursor c(proto);
  while (!c.done()) {
    uint64_t key;
    if (!c.varint(&key)) return malformed();
    int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    uint64_t v;
    std::string_view b;
    if (field == 1 && wire == 2) {
      if (!c.bytes(&b)) return malformed();
      e.source.assign(b);
    } else if (field == 2 && wire == 0) {
      if (!c.varint(&v)) return malformed();
      e.time_nano = static_cast<int64_t>(v);
    } else if (field == 3 && wire == 2) {
      if (!c.bytes(&b)) return malformed();
      e.line.assign(b);
    } else if (field == 4 && wire == 0) {
      if (!c.varint(&v)) return malformed();
      e.partial = v != 0;
    } else if (field == 5 && wire == 2) {
      if (!c.bytes(&b)) return malformed();
      e.has_meta = true;
      Cursor m(b);
      while (!m.done()) {
        uint64_t k2;
        if (!m.varint(&k2)) return malformed();
        int f2 = static_cast<int>(k2 >> 3), w2 = static_cast<int>(k2 & 7);
        std::string_view b2;
        if (f2 == 1 && w2 == 0) {
          if (!m.varint(&v)) return malformed();
          e.last = v != 0;
        } else if (f2 == 2 && w2 == 2) {
          if (!m.bytes(&b2)) return malformed();
          e.id.assign(b2);
        } else if (f2 == 3 && w2 == 0) {
          if (!m.varint(&v)) return malformed();
          e.ordinal = static_cast<int32_t>(static_cast<int64_t>(v));
        } else if (!m.skip(w2)) {
          return malformed();
        }
      }
    } else if (!c.skip(wire)) {
      return malformed();
    }
  }
  return e;
}

LogEntry local_to_log_entry(const LocalEntry& e) {
  LogEntry le;
  le.stream = e.source == "stderr" ? Stream::err : e.source == "stdin" ? Stream::in : Stream::out;
  le.time_ns = e.time_nano;
  le.payload = e.line;
  if (!e.has_meta || e.last) le.payload.push_back('\n');
  return le;
}

// ------------------------------------------------------------- writer

Result<std::unique_ptr<LocalFileWriter>> LocalFileWriter::open(const std::string& path, Options o) {
  RotatingFile::Options ro;
  ro.max_size = o.max_size;
  ro.max_file = o.max_file;
  ro.compress = o.compress;
  ro.mode = 0640;
  auto f = BERTH_TRY(RotatingFile::open(path, ro));
  return std::unique_ptr<LocalFileWriter>(new LocalFileWriter(std::move(f), o));
}

// kind: 0 a whole line, 1 a 16 KiB piece of a longer line, 2 the last piece
// of such a line, 3 what was left without '\n' at close (no metadata).
void LocalFileWriter::emit(Stream s, std::string_view line, int64_t t, int kind) {
  Pending& p = pending_[static_cast<int>(s) % 3];
  LocalEntry e;
  e.source = std::string(stream_name(s));
  e.line = std::string(line);
  e.time_nano = t;
  if (kind == 1 || kind == 2) {
    if (p.id.empty()) {
      p.id = random_hex_id(32);
      p.ordinal = 0;
      p.first_ns = t;
    }
    e.partial = true;
    e.has_meta = true;
    e.id = p.id;
    e.ordinal = ++p.ordinal;
    e.last = kind == 2;
    e.time_nano = p.first_ns;
    if (kind == 2) p.id.clear();
  }
  // Docker rotates before the write that finds the file at max-size.
  if (opts_.max_size > 0 && file_.size() + static_cast<int64_t>(out_.size()) >= opts_.max_size) {
    (void)flush();
    if (file_.due()) (void)file_.rotate(last_ns_);
  }
  append_local_record(out_, e);
  last_ns_ = e.time_nano;
}

Status LocalFileWriter::write(Stream s, std::string_view data, int64_t now_ns) {
  Pending& p = pending_[static_cast<int>(s) % 3];
  while (!data.empty()) {
    const void* nlp = std::memchr(data.data(), '\n', data.size());
    size_t seg = nlp ? static_cast<size_t>(static_cast<const char*>(nlp) - data.data()) : data.size();
    while (p.bytes.size() + seg >= kMaxLineBytes) {
      size_t take = kMaxLineBytes - p.bytes.size();
      p.bytes.append(data.data(), take);
      emit(s, p.bytes, now_ns, 1);
      p.bytes.clear();
      data.remove_prefix(take);
      seg -= take;
    }
    if (!nlp) {
      p.bytes.append(data.data(), data.size());
      break;
    }
    p.bytes.append(data.data(), seg);
    emit(s, p.bytes, now_ns, p.id.empty() ? 0 : 2);
    p.bytes.clear();
    data.remove_prefix(seg + 1);
  }
  if (out_.size() >= opts_.flush_threshold) return flush();
  return ok();
}

Status LocalFileWriter::flush() {
  if (out_.empty()) return ok();
  Status st = file_.append(out_);
  out_.clear();
  if (out_.capacity() > 8 * opts_.flush_threshold) out_.shrink_to_fit();
  if (!st) return std::move(st).error().wrap("write log");
  return ok();
}

Status LocalFileWriter::close(int64_t now_ns) {
  for (int i = 0; i < 3; ++i) {
    Pending& p = pending_[i];
    if (!p.bytes.empty()) emit(static_cast<Stream>(i), p.bytes, now_ns, p.id.empty() ? 3 : 2);
    p.bytes.clear();
  }
  Status st = flush();
  file_.wait_compression();
  return st;
}

}  // namespace berth::logging

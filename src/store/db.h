// SQLite metadata store: one connection guarded by a mutex (one writer),
// WAL journal, synchronous=FULL, numbered per-component migrations.
//
// Schema ownership: each library owns its own tables and registers its
// migrations under its own component name (see image/, container/). The
// bookkeeping table is:
//   schema_migrations(component TEXT, version INTEGER, PRIMARY KEY(component, version))
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::store {

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt();

  // 1-based parameter indexes, as sqlite3_bind_*.
  Stmt& bind(int idx, std::string_view v);
  Stmt& bind(int idx, const char* v) { return bind(idx, std::string_view(v)); }
  Stmt& bind(int idx, const std::string& v) { return bind(idx, std::string_view(v)); }
  Stmt& bind(int idx, int64_t v);
  Stmt& bind(int idx, int v) { return bind(idx, static_cast<int64_t>(v)); }
  Stmt& bind_null(int idx);
  // true: a row is available; false: done.
  Result<bool> step();
  // Run to completion (INSERT/UPDATE/DELETE).
  Status run();
  std::string text(int col) const;  // 0-based
  int64_t int64(int col) const;
  bool is_null(int col) const;
  void reset();

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

class Db {
 public:
  static Result<std::unique_ptr<Db>> open(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Apply steps[version-1] for every version not yet recorded for
  // `component`, each in its own transaction.
  Status migrate(std::string_view component, const std::vector<std::string>& steps);
  Status exec(std::string_view sql);
  Result<Stmt> prepare(std::string_view sql);
  // Runs f inside BEGIN IMMEDIATE … COMMIT; rolls back if f fails.
  Status transaction(const std::function<Status()>& f);
  // Callers serialise multi-statement reads/writes with this lock; every
  // method above takes it internally (recursive).
  std::recursive_mutex& mutex() { return mu_; }
  int64_t changes() const { return sqlite3_changes64(db_); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::recursive_mutex mu_;
};

}  // namespace berth::store

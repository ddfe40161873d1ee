#include "store/db.h"

namespace berth::store {

namespace {
Error db_error(sqlite3* db, std::string_view what) {
  int code = sqlite3_errcode(db);
  Errc k = (code == SQLITE_CONSTRAINT) ? Errc::conflict : Errc::internal;
  return make_error(k, std::string(what) + ": " + sqlite3_errmsg(db));
}
}  // namespace

Stmt::~Stmt() {
  if (s_) sqlite3_finalize(s_);
}
Stmt& Stmt::bind(int idx, std::string_view v) {
  sqlite3_bind_text(s_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind(int idx, int64_t v) {
  sqlite3_bind_int64(s_, idx, v);
  return *this;
}
Stmt& Stmt::bind_null(int idx) {
  sqlite3_bind_null(s_, idx);
  return *this;
}
Result<bool> Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_error(db_, "sqlite step");
}
Status Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return std::move(r).error();
    if (!*r) return ok();
  }
}
std::string Stmt::text(int col) const {
  auto* p = sqlite3_column_text(s_, col);
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}
int64_t Stmt::int64(int col) const { return sqlite3_column_int64(s_, col); }
bool Stmt::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    return make_error(Errc::internal, "open database " + path + ": " + m);
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 5000);
  BERTH_TRY_VOID(db->exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
      "CREATE TABLE IF NOT EXISTS schema_migrations(component TEXT NOT NULL, version INTEGER NOT "
      "NULL, PRIMARY KEY(component, version));"));
  return db;
}

Db::~Db() { sqlite3_close(db_); }

Status Db::exec(std::string_view sql) {
  std::lock_guard g(mu_);
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown";
    sqlite3_free(err);
    Errc k = sqlite3_errcode(db_) == SQLITE_CONSTRAINT ? Errc::conflict : Errc::internal;
    return make_error(k, "sqlite: " + m);
  }
  return ok();
}

Result<Stmt> Db::prepare(std::string_view sql) {
  std::lock_guard g(mu_);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
    return db_error(db_, "sqlite prepare");
  return Stmt(db_, s);
}

Status Db::transaction(const std::function<Status()>& f) {
  std::lock_guard g(mu_);
  BERTH_TRY_VOID(exec("BEGIN IMMEDIATE"));
  Status st = f();
  if (!st) {
    (void)exec("ROLLBACK");
    return st;
  }
  auto c = exec("COMMIT");
  if (!c) (void)exec("ROLLBACK");
  return c;
}

Status Db::migrate(std::string_view component, const std::vector<std::string>& steps) {
  std::lock_guard g(mu_);
  for (size_t i = 0; i < steps.size(); ++i) {
    int64_t version = static_cast<int64_t>(i + 1);
    auto q = BERTH_TRY(prepare("SELECT 1 FROM schema_migrations WHERE component=?1 AND version=?2"));
    q.bind(1, component).bind(2, version);
    if (BERTH_TRY(q.step())) continue;
    BERTH_TRY_VOID(transaction([&]() -> Status {
      BERTH_TRY_VOID(exec(steps[i]));
      auto ins = BERTH_TRY(prepare("INSERT INTO schema_migrations(component, version) VALUES(?1, ?2)"));
      ins.bind(1, component).bind(2, version);
      return ins.run();
    }));
  }
  return ok();
}

}  // namespace berth::store

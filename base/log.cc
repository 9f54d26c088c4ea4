#include "base/log.h"

#include <mutex>
#include <stdexcept>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace regcache::log {
namespace {

std::shared_ptr<spdlog::logger> getOrCreate(const char *name) {
  if (auto existing = spdlog::get(name)) return existing;
  // Two threads logging first at once (a loop and a store thread) would both register the name,
  // and spdlog throws on the second: create under one lock, looking again inside it.
  static std::mutex creating;
  std::lock_guard<std::mutex> lock(creating);
  if (auto existing = spdlog::get(name)) return existing;
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(name, sink);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ %n %v");
  spdlog::register_logger(logger);
  return logger;
}

spdlog::logger &named(const char *name) {
  // Loggers are created once; callers that log before setup() get stderr at info.
  return *getOrCreate(name);
}

} // namespace

bool setLevel(const std::string &level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return false;
  for (const char *name : {"proxy", "tls", "dns", "ca", "cache"})
    named(name).set_level(lvl);
  return true;
}

void setup(const std::string &level, const std::string &accessLogPath, bool bareAccessLines) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level: " + level);
  }
  for (const char *name : {"proxy", "tls", "dns", "ca", "cache"})
    named(name).set_level(lvl);

  spdlog::drop("access");
  std::shared_ptr<spdlog::logger> access;
  if (accessLogPath.empty()) {
    access = std::make_shared<spdlog::logger>("access",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else if (accessLogPath == "-") {
    access = std::make_shared<spdlog::logger>("access",
                                              std::make_shared<spdlog::sinks::stdout_sink_mt>());
  } else {
    access = std::make_shared<spdlog::logger>(
        "access", std::make_shared<spdlog::sinks::basic_file_sink_mt>(accessLogPath));
  }
  access->set_pattern(bareAccessLines ? "%v" : "%Y-%m-%dT%H:%M:%S.%e %v");
  access->set_level(spdlog::level::info);
  access->flush_on(spdlog::level::info);
  spdlog::register_logger(access);
}

spdlog::logger &proxy() { return named("proxy"); }
spdlog::logger &tls() { return named("tls"); }
spdlog::logger &dns() { return named("dns"); }
spdlog::logger &ca() { return named("ca"); }
spdlog::logger &cache() { return named("cache"); }
spdlog::logger &access() { return named("access"); }

} // namespace regcache::log

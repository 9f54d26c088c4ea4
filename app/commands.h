#pragma once
// What each command does once its arguments are parsed. Each returns the process exit code and
// may throw std::runtime_error with a message for the operator.
#include "app/cli.h"

namespace regcache::app {

int runCaInit(const ParsedCommand &command);
int runCaBundle(const ParsedCommand &command);
int runCaShow(const ParsedCommand &command);
int runCaRotate(const ParsedCommand &command);
int runCaInstall(const ParsedCommand &command);
int runClientConfig(const ParsedCommand &command);
int runCacheList(const ParsedCommand &command);
int runCacheStats(const ParsedCommand &command);
int runCacheVerify(const ParsedCommand &command);
int runCacheRemove(const ParsedCommand &command);
int runCacheGc(const ParsedCommand &command);
int runCacheWarm(const ParsedCommand &command); // app/cache_warm.cc
int runStoreGc(const ParsedCommand &command);   // app/store_commands.cc
int runProxyAuthHash(const ParsedCommand &command);
int runDoctor(const ParsedCommand &command);
// `json`: one JSON document instead of the text.
int runVersion(bool json = false);
int runCheckConfig(const ParsedCommand &command); // app/check_config.cc

} // namespace regcache::app

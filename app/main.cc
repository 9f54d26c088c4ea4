// regcache: the control path may throw; everything is caught here once.
#include <iostream>

#include "app/cli.h"
#include "app/commands.h"
#include "app/config_reload.h"
#include "app/print_config.h"
#include "proxy/server.h"

int main(int argc, char **argv) {
  using namespace regcache::app;
  Cli cli;
  try {
    ParsedCommand command = cli.parse(argc, argv);
    switch (command.command) {
    case Command::kServe:
      // SIGHUP parses this same command line again (the config file is read again).
      return regcache::proxy::runServer(
          command.serve,
          makeReloader(std::vector<std::string>(argv, argv + argc), cli.effectiveConfig()));
    case Command::kPrintConfig:
      std::cout << formatConfig(cli.effectiveConfig(), command.dataDir.string());
      return 0;
    case Command::kCheckConfig: return runCheckConfig(command);
    case Command::kCaInit: return runCaInit(command);
    case Command::kCaBundle: return runCaBundle(command);
    case Command::kCaShow: return runCaShow(command);
    case Command::kCaRotate: return runCaRotate(command);
    case Command::kCaInstall: return runCaInstall(command);
    case Command::kClientConfig: return runClientConfig(command);
    case Command::kCacheList: return runCacheList(command);
    case Command::kCacheStats: return runCacheStats(command);
    case Command::kCacheVerify: return runCacheVerify(command);
    case Command::kCacheRemove: return runCacheRemove(command);
    case Command::kCacheGc: return runCacheGc(command);
    case Command::kStoreGc: return runStoreGc(command);
    case Command::kCacheWarm: return runCacheWarm(command);
    case Command::kProxyAuthHash: return runProxyAuthHash(command);
    case Command::kDoctor: return runDoctor(command);
    case Command::kVersion: return runVersion(command.json);
    case Command::kNone: std::cout << cli.help(); return 0;
    }
  } catch (const CLI::ParseError &e) {
    return cli.exit(e);
  } catch (const std::exception &e) {
    std::cerr << "regcache: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

#include <catch2/catch.hpp>

#include <sstream>

#include "app/warm_progress.h"

using regcache::app::describeOutcome;
using regcache::app::ImageOutcome;
using regcache::app::makeWarmProgress;

TEST_CASE("an image's line names it with its platforms, blobs and size, or why it failed",
          "[warm]") {
  ImageOutcome ok{"registry.test:5000/app:v1", true, "", {"linux/amd64", "linux/arm64"}, 4, 1536};
  CHECK(describeOutcome(ok) ==
        "ok   registry.test:5000/app:v1  2 platforms (linux/amd64 linux/arm64), 4 blobs, 1.5 KiB");
  ImageOutcome single{"alpine", true, "", {}, 1, 10};
  CHECK(describeOutcome(single) == "ok   alpine  1 blob, 10 B");
  ImageOutcome failed{
      "registry.test:5000/gone:v1", false, "manifest v1: HTTP 404 (not found)", {}, 0, 0};
  CHECK(describeOutcome(failed) ==
        "FAIL registry.test:5000/gone:v1  manifest v1: HTTP 404 (not found)");
}

TEST_CASE("off a terminal cache warm prints one line per image and nothing per blob", "[warm]") {
  std::ostringstream out;
  auto progress = makeWarmProgress(false, out);
  progress->blobStarted(0, "sha256:0123456789ab", 100);
  progress->blobBytes(0, 100);
  progress->blobFinished(0);
  progress->imageFinished(ImageOutcome{"alpine", true, "", {}, 1, 100});
  CHECK(out.str() == "ok   alpine  1 blob, 100 B\n");
}

TEST_CASE("on a terminal cache warm draws a bar per blob in flight and erases them at the end",
          "[warm]") {
  std::ostringstream out;
  {
    auto progress = makeWarmProgress(true, out);
    progress->blobStarted(0, "sha256:0123456789ab", 2048);
    progress->blobBytes(0, 1024);
    CHECK(out.str().find("sha256:0123456789ab [") != std::string::npos);
    CHECK(out.str().find("0 B / 2.0 KiB") != std::string::npos);
    progress->blobFinished(0);
    progress->imageFinished(ImageOutcome{"alpine", true, "", {}, 1, 2048});
  }
  std::string text = out.str();
  CHECK(text.find("ok   alpine  1 blob, 2.0 KiB\n") != std::string::npos);
  // Nothing drawn after the image's line is left on the screen.
  CHECK(text.substr(text.find("ok   alpine")).find('[') == std::string::npos);
}

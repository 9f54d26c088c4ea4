#include "app/warm_progress.h"

#include <chrono>
#include <mutex>

#include "app/units.h"

namespace regcache::app {
namespace {

class LineProgress : public WarmProgress {
public:
  explicit LineProgress(std::ostream &out) : out_(out) {}
  void blobStarted(std::size_t, const std::string &, std::uint64_t) override {}
  void blobBytes(std::size_t, std::uint64_t) override {}
  void blobFinished(std::size_t) override {}
  void imageFinished(const ImageOutcome &outcome) override {
    std::lock_guard lock(mutex_);
    out_ << describeOutcome(outcome) << '\n' << std::flush;
  }

private:
  std::mutex mutex_;
  std::ostream &out_;
};

// Keeps the bars as the last lines of the terminal: each redraw moves the cursor up over the
// lines it drew before and rewrites them; an image's line is printed above them.
class BarProgress : public WarmProgress {
public:
  explicit BarProgress(std::ostream &out) : out_(out) {}
  ~BarProgress() override {
    std::lock_guard lock(mutex_);
    erase();
    out_ << std::flush;
  }

  void blobStarted(std::size_t slot, const std::string &label, std::uint64_t total) override {
    std::lock_guard lock(mutex_);
    if (slot >= slots_.size()) slots_.resize(slot + 1);
    slots_[slot] = Slot{true, label, total, 0};
    redraw(true);
  }
  void blobBytes(std::size_t slot, std::uint64_t bytes) override {
    std::lock_guard lock(mutex_);
    if (slot < slots_.size()) slots_[slot].done += bytes;
    redraw(false);
  }
  void blobFinished(std::size_t slot) override {
    std::lock_guard lock(mutex_);
    if (slot < slots_.size()) slots_[slot].active = false;
    redraw(true);
  }
  void imageFinished(const ImageOutcome &outcome) override {
    std::lock_guard lock(mutex_);
    erase();
    out_ << describeOutcome(outcome) << '\n';
    redraw(true);
  }

private:
  struct Slot {
    bool active = false;
    std::string label;
    std::uint64_t total = 0;
    std::uint64_t done = 0;
  };

  void erase() {
    for (std::size_t i = 0; i < drawn_; ++i)
      out_ << "\033[1A\033[2K";
    out_ << '\r';
    drawn_ = 0;
  }

  // At most ten redraws a second unless `now`: a fast blob must not flood the terminal.
  void redraw(bool now) {
    auto clock = std::chrono::steady_clock::now();
    if (!now && clock - lastDraw_ < std::chrono::milliseconds(100)) return;
    lastDraw_ = clock;
    erase();
    for (const auto &slot : slots_) {
      if (!slot.active) continue;
      constexpr int kWidth = 30;
      double fraction = slot.total == 0 ? 1.0
                                        : static_cast<double>(std::min(slot.done, slot.total)) /
                                              static_cast<double>(slot.total);
      int filled = static_cast<int>(fraction * kWidth);
      out_ << slot.label << " [" << std::string(static_cast<std::size_t>(filled), '#')
           << std::string(static_cast<std::size_t>(kWidth - filled), ' ') << "] "
           << formatBytes(slot.done) << " / " << formatBytes(slot.total) << '\n';
      ++drawn_;
    }
    out_ << std::flush;
  }

  std::mutex mutex_;
  std::ostream &out_;
  std::vector<Slot> slots_;
  std::size_t drawn_ = 0;
  std::chrono::steady_clock::time_point lastDraw_{};
};

} // namespace

std::unique_ptr<WarmProgress> makeWarmProgress(bool terminal, std::ostream &out) {
  if (terminal) return std::make_unique<BarProgress>(out);
  return std::make_unique<LineProgress>(out);
}

std::string describeOutcome(const ImageOutcome &outcome) {
  if (!outcome.ok) return "FAIL " + outcome.image + "  " + outcome.error;
  std::string text = "ok   " + outcome.image + "  ";
  if (!outcome.platforms.empty()) {
    text += std::to_string(outcome.platforms.size()) +
            (outcome.platforms.size() == 1 ? " platform (" : " platforms (");
    for (std::size_t i = 0; i < outcome.platforms.size(); ++i)
      text += (i ? " " : "") + outcome.platforms[i];
    text += "), ";
  }
  return text + std::to_string(outcome.blobs) + (outcome.blobs == 1 ? " blob, " : " blobs, ") +
         formatBytes(outcome.bytes);
}

} // namespace regcache::app

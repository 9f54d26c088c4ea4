#include "cache/index_view.h"

#include <algorithm>
#include <mutex>
#include <set>

namespace regcache::cache {

bool IndexedBlob::servedAtRegistry(const std::string &registry) const {
  return std::any_of(sources.begin(), sources.end(),
                     [&](const BlobSource &s) { return s.registry == registry; });
}

bool IndexedBlob::servedUnder(const std::string &registry, const std::string &repository,
                              bool anonymously) const {
  return std::any_of(sources.begin(), sources.end(), [&](const BlobSource &s) {
    return s.registry == registry && s.repository == repository && (s.anonymous || !anonymously);
  });
}

std::string IndexView::tagKey(const std::string &registry, const std::string &repository,
                              const std::string &tag, const std::string &accept) {
  // NUL cannot occur in a host, a repository name, a tag or a parsed Accept list.
  std::string key;
  key.reserve(registry.size() + repository.size() + tag.size() + accept.size() + 3);
  key.append(registry).append(1, '\0').append(repository).append(1, '\0');
  key.append(tag).append(1, '\0').append(accept);
  return key;
}

Result<void> IndexView::load(Index &index) {
  // Built aside and swapped in, so readers never see half a view.
  std::unordered_map<std::string, IndexedBlob> blobs;
  std::unordered_map<std::string, TagRecord> tags;
  std::uint64_t bytes = 0;
  // Sized once: rehashing 100,000 entries as they come costs more than the count.
  if (auto totals = index.totals(); totals.ok()) blobs.reserve(totals->blobs);
  auto scanned = index.scanBlobs([&](BlobRecord &&blob) {
    bytes += blob.size;
    std::string digest = blob.digest;
    blobs.emplace(std::move(digest), IndexedBlob{std::move(blob), {}});
  });
  if (!scanned.ok()) return scanned;
  scanned = index.scanSources([&](std::string &&digest, BlobSource &&source) {
    auto it = blobs.find(digest);
    if (it != blobs.end()) it->second.sources.push_back(std::move(source));
  });
  if (!scanned.ok()) return scanned;
  auto listed = index.listTags();
  if (!listed.ok()) return listed.failure();
  for (auto &tag : listed.value()) {
    std::string key = tagKey(tag.registry, tag.repository, tag.tag, tag.accept);
    tags.emplace(std::move(key), std::move(tag));
  }
  std::unique_lock lock(mutex_);
  blobs_.swap(blobs);
  tags_.swap(tags);
  bytes_ = bytes;
  return {};
}

std::optional<IndexedBlob> IndexView::findBlob(const std::string &digest) const {
  std::shared_lock lock(mutex_);
  auto it = blobs_.find(digest);
  if (it == blobs_.end()) return std::nullopt;
  return it->second;
}

std::optional<TagRecord> IndexView::findTag(const std::string &registry,
                                            const std::string &repository, const std::string &tag,
                                            const std::string &accept) const {
  std::string key = tagKey(registry, repository, tag, accept);
  std::shared_lock lock(mutex_);
  auto it = tags_.find(key);
  if (it == tags_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> IndexView::listRepositories(bool publicOnly) const {
  std::set<std::string> names;
  {
    std::shared_lock lock(mutex_);
    for (const auto &[digest, blob] : blobs_) {
      for (const auto &source : blob.sources) {
        if (publicOnly && !source.anonymous) continue;
        names.insert(source.registry + "/" + source.repository);
      }
    }
  }
  return {names.begin(), names.end()};
}

CacheTotals IndexView::totals() const {
  std::shared_lock lock(mutex_);
  return CacheTotals{blobs_.size(), bytes_, 0};
}

void IndexView::putBlob(const BlobRecord &blob, const BlobSource &source) {
  std::unique_lock lock(mutex_);
  auto [it, inserted] = blobs_.try_emplace(blob.digest, IndexedBlob{blob, {}});
  if (inserted) {
    bytes_ += blob.size;
    it->second.record.hits = 0;
  }
  auto &sources = it->second.sources;
  auto known = std::find_if(sources.begin(), sources.end(), [&](const BlobSource &s) {
    return s.registry == source.registry && s.repository == source.repository;
  });
  // Once anonymous, always: a later fetch with credentials does not make public content private.
  if (known == sources.end()) {
    sources.push_back(source);
  } else {
    known->anonymous = known->anonymous || source.anonymous;
  }
}

void IndexView::putTag(const TagRecord &tag) {
  std::string key = tagKey(tag.registry, tag.repository, tag.tag, tag.accept);
  std::unique_lock lock(mutex_);
  tags_.insert_or_assign(std::move(key), tag);
}

void IndexView::markRepositoryPublic(const std::string &registry, const std::string &repository) {
  std::unique_lock lock(mutex_);
  for (auto &[digest, blob] : blobs_) {
    for (auto &source : blob.sources) {
      if (source.registry == registry && source.repository == repository) source.anonymous = true;
    }
  }
}

void IndexView::removeBlob(const std::string &digest) {
  std::unique_lock lock(mutex_);
  auto it = blobs_.find(digest);
  if (it == blobs_.end()) return;
  bytes_ -= std::min(bytes_, it->second.record.size);
  blobs_.erase(it);
}

} // namespace regcache::cache

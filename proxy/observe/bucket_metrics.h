#pragma once
// The fleet's bucket on /metrics (docs/fleet.md): what the tiered store did with it, and the S3
// store's own request counters when the bucket is an S3 one.
#include <string>

#include "cache/s3/s3_client.h"
#include "cache/tier_counters.h"

namespace regcache::proxy {

// Prometheus text for `tier` and, if not null, `s3`; counters only, each with HELP and TYPE.
std::string renderBucketMetrics(const cache::TierCounters &tier, const cache::s3::S3Stats *s3);

} // namespace regcache::proxy

#include "app/manifest_contents.h"

#include "app/json_value.h"
#include "base/oci/digest.h"

namespace regcache::app {
namespace {

constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

// The media type without parameters or blanks: "application/json; charset=utf-8" is
// "application/json".
std::string_view bareType(std::string_view type) {
  type = type.substr(0, type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
    type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t'))
    type.remove_prefix(1);
  return type;
}

std::string field(const JsonValue &object, std::string_view key) {
  const JsonValue *value = object.member(key);
  return value ? value->string().value_or("") : "";
}

Result<Descriptor> readDescriptor(const JsonValue &value, std::string_view where) {
  if (value.kind() != JsonValue::Kind::kObject) {
    return fail(Error::kInvalidInput, std::string(where) + " is not an object");
  }
  Descriptor out;
  out.mediaType = field(value, "mediaType");
  auto digest = oci::parseDigest(field(value, "digest"));
  if (!digest) return fail(Error::kInvalidInput, std::string(where) + " has no sha256 digest");
  out.digest = digest->toString();
  const JsonValue *size = value.member("size");
  if (size == nullptr || !size->unsignedInteger()) {
    return fail(Error::kInvalidInput, std::string(where) + " has no size");
  }
  out.size = *size->unsignedInteger();
  if (const JsonValue *platform = value.member("platform")) {
    out.platform = {field(*platform, "os"), field(*platform, "architecture"),
                    field(*platform, "variant")};
  }
  return out;
}

Result<std::vector<Descriptor>> readDescriptors(const JsonValue *array, std::string_view name) {
  std::vector<Descriptor> out;
  if (array == nullptr) return out;
  if (array->kind() != JsonValue::Kind::kArray) {
    return fail(Error::kInvalidInput, "\"" + std::string(name) + "\" is not an array");
  }
  for (const auto &element : array->elements()) {
    auto descriptor = readDescriptor(element, "an entry of \"" + std::string(name) + "\"");
    if (!descriptor) return descriptor.failure();
    out.push_back(std::move(*descriptor));
  }
  return out;
}

} // namespace

Result<ManifestContents> parseManifestContents(std::string_view json,
                                               std::string_view contentType) {
  auto document = parseJson(json);
  if (!document) return fail(Error::kInvalidInput, "manifest: " + document.failure().detail);
  if (document->kind() != JsonValue::Kind::kObject) {
    return fail(Error::kInvalidInput, "manifest is not a JSON object");
  }
  if (document->member("fsLayers") != nullptr) {
    return fail(Error::kInvalidInput, "schema 1 manifests are not supported");
  }
  std::string_view type = bareType(contentType);
  std::string ownType = field(*document, "mediaType");
  if (type != kOciIndex && type != kDockerList && type != kOciManifest && type != kDockerManifest) {
    type = ownType; // application/json or octet-stream: trust the document
  }
  ManifestContents out;
  if (type == kOciIndex || type == kDockerList) {
    out.index = true;
  } else if (type == kOciManifest || type == kDockerManifest) {
    out.index = false;
  } else {
    out.index = document->member("manifests") != nullptr;
  }
  if (out.index) {
    auto manifests = readDescriptors(document->member("manifests"), "manifests");
    if (!manifests) return manifests.failure();
    out.manifests = std::move(*manifests);
    return out;
  }
  const JsonValue *config = document->member("config");
  if (config == nullptr) return fail(Error::kInvalidInput, "image manifest has no config");
  auto configDescriptor = readDescriptor(*config, "\"config\"");
  if (!configDescriptor) return configDescriptor.failure();
  out.blobs.push_back(std::move(*configDescriptor));
  auto layers = readDescriptors(document->member("layers"), "layers");
  if (!layers) return layers.failure();
  for (auto &layer : *layers)
    out.blobs.push_back(std::move(layer));
  return out;
}

} // namespace regcache::app

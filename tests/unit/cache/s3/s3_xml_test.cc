#include <catch2/catch.hpp>

#include "cache/s3/s3_xml.h"
#include "cache/s3/xml.h"

using namespace regcache::cache::s3;
using regcache::Error;

TEST_CASE("s3 xml: a ListObjectsV2 page as RGW and S3 write it", "[s3][xml]") {
  auto page = parseListObjectsV2(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
      "  <Name>b</Name><IsTruncated>true</IsTruncated>\n"
      "  <NextContinuationToken>tok/en=</NextContinuationToken>\n"
      "  <Contents><Key>p/a&amp;b</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
      "<ETag>&quot;x&quot;</ETag><Size>434234</Size></Contents>\n"
      "  <Contents><Key>p/c</Key><LastModified>2009-10-12T17:50:31Z</LastModified>"
      "<Size>0</Size></Contents>\n"
      "</ListBucketResult>");
  REQUIRE(page.ok());
  REQUIRE(page->objects.size() == 2);
  CHECK(page->objects[0].key == "p/a&b");
  CHECK(page->objects[0].size == 434234);
  CHECK(std::chrono::system_clock::to_time_t(page->objects[0].lastModified) == 1255369830);
  CHECK(page->truncated);
  CHECK(page->nextToken == "tok/en=");
}

TEST_CASE("s3 xml: uploads, upload ids and errors", "[s3][xml]") {
  auto uploads = parseListMultipartUploads(
      "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><Upload><Key>k</Key>"
      "<UploadId>2~abc</UploadId><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>"
      "</ListMultipartUploadsResult>");
  REQUIRE(uploads.ok());
  REQUIRE(uploads->uploads.size() == 1);
  CHECK(uploads->uploads[0].uploadId == "2~abc");
  CHECK(parseUploadId("<InitiateMultipartUploadResult><UploadId>&#x32;~z</UploadId>"
                      "</InitiateMultipartUploadResult>")
            .value() == "2~z");
  auto error = parseS3Error("<Error><Code>InternalError</Code><Message>m</Message></Error>");
  REQUIRE(error);
  CHECK(error->code == "InternalError");
  CHECK_FALSE(parseS3Error("<CompleteMultipartUploadResult/>"));
  CHECK(parseUploadId("<Error><Code>x</Code></Error>").failure().code == Error::kUpstream);
  CHECK(parseHttpDate("Wed, 12 Oct 2009 17:50:00 GMT").has_value());
  CHECK_FALSE(parseHttpDate("Wed, 12 Foo 2009 17:50:00 GMT").has_value());
  CHECK_FALSE(parseIsoTime("0001-10-12T17:50:30Z").has_value()); // would overflow the clock
  CHECK_FALSE(parseHttpDate("Wed, 12 Oct 9999 17:50:00 GMT").has_value());
}

TEST_CASE("s3 xml: malformed, hostile or oversized documents are refused", "[s3][xml]") {
  CHECK_FALSE(parseXml("<a><b></a></b>").ok());
  CHECK_FALSE(parseXml("<a>").ok());
  CHECK_FALSE(parseXml("<a/>trailing").ok());
  CHECK_FALSE(parseXml("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").ok()); // no DTD, no XXE
  CHECK_FALSE(parseXml("<a><![CDATA[x]]></a>").ok());
  CHECK_FALSE(parseXml("<a>&#0;</a>").ok());
  CHECK_FALSE(parseXml("<a>&#x110000;</a>").ok());
  CHECK_FALSE(parseXml("<a b=\"1></a>").ok());
  std::string deep;
  for (int i = 0; i < 100; ++i)
    deep += "<a>";
  CHECK_FALSE(parseXml(deep).ok()); // depth-bounded: no deep recursion
  std::string wide = "<a>";
  for (int i = 0; i < 30000; ++i)
    wide += "<b/>";
  CHECK_FALSE(parseXml(wide + "</a>").ok());                           // element-bounded
  CHECK_FALSE(parseXml("<a>" + std::string(5000, 'x') + "</a>").ok()); // text-bounded
  CHECK(parseXml("<a>\n" + std::string(3000, ' ') + "<b/>\n" + std::string(3000, ' ') + "<c/></a>")
            .ok()); // layout between children does not count as text
  CHECK_FALSE(parseListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size>"
                                 "<LastModified>2009-10-12T17:50:30Z</LastModified></Contents>"
                                 "</ListBucketResult>")
                  .ok());
  CHECK_FALSE(parseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                                 "</ListBucketResult>")
                  .ok()); // truncated with no token: an endless listing
}

// Drives the DoLake S3 API with the AWS SDK for Java v2, the client under Iceberg's S3FileIO
// (Spark, Flink, Trino's native S3). Over plain HTTP the SDK uploads aws-chunked bodies:
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD before 2.30, ...-PAYLOAD-TRAILER with a CRC32 trailer after.
// Usage: java Probe <endpoint> <access-key-id> <secret> <key prefix, e.g. warehouse/>; prints the payload modes it saw.
import java.net.URI;
import java.util.*;
import software.amazon.awssdk.auth.credentials.*;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.interceptor.*;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.*;
import software.amazon.awssdk.services.s3.model.*;

public class Probe {
  public static void main(String[] a) throws Exception {
    String url = a[0], id = a[1], secret = a[2], root = a.length > 3 ? a[3] : "";
    Set<String> modes = new TreeSet<>();
    ExecutionInterceptor spy = new ExecutionInterceptor() {
      public void beforeTransmission(Context.BeforeTransmission c, ExecutionAttributes attrs) {
        SdkHttpRequest r = c.httpRequest();
        modes.add(r.method() + " " + r.firstMatchingHeader("x-amz-content-sha256").orElse("-").replaceAll("^[0-9a-f]{64}$", "<sha256>") + " trailer=" + r.firstMatchingHeader("x-amz-trailer").orElse("-"));
      }
    };
    for (String region : new String[] {"auto", "us-east-1"}) {
      S3Client s3 = S3Client.builder().endpointOverride(URI.create(url)).region(Region.of(region)).forcePathStyle(true)
        .httpClient(UrlConnectionHttpClient.create())
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(id, secret)))
        .overrideConfiguration(o -> o.addExecutionInterceptor(spy)).build();
      String b = "dolake-warehouse", k = root + "java-probe/" + region + "/f.bin";
      byte[] data = new byte[3 * 1024 * 1024 + 77];
      new Random(1).nextBytes(data);
      s3.putObject(PutObjectRequest.builder().bucket(b).key(k).build(), RequestBody.fromBytes(data));
      byte[] back = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(b).key(k).build()).asByteArray();
      check(Arrays.equals(back, data), "put/get");
      byte[] range = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(b).key(k).range("bytes=100-199").build()).asByteArray();
      check(Arrays.equals(range, Arrays.copyOfRange(data, 100, 200)), "range");
      String up = s3.createMultipartUpload(CreateMultipartUploadRequest.builder().bucket(b).key(k + ".mp").build()).uploadId();
      byte[] p1 = Arrays.copyOf(data, 5 * 1024 * 1024);
      String e1 = s3.uploadPart(UploadPartRequest.builder().bucket(b).key(k + ".mp").uploadId(up).partNumber(1).build(), RequestBody.fromBytes(p1)).eTag();
      String e2 = s3.uploadPart(UploadPartRequest.builder().bucket(b).key(k + ".mp").uploadId(up).partNumber(2).build(), RequestBody.fromBytes(data)).eTag();
      s3.completeMultipartUpload(CompleteMultipartUploadRequest.builder().bucket(b).key(k + ".mp").uploadId(up)
        .multipartUpload(CompletedMultipartUpload.builder().parts(CompletedPart.builder().partNumber(1).eTag(e1).build(), CompletedPart.builder().partNumber(2).eTag(e2).build()).build()).build());
      check(s3.headObject(HeadObjectRequest.builder().bucket(b).key(k + ".mp").build()).contentLength() == p1.length + data.length, "multipart");
      ListObjectsV2Response l = s3.listObjectsV2(ListObjectsV2Request.builder().bucket(b).prefix(root + "java-probe/" + region + "/").delimiter("/").build());
      check(l.contents().size() == 2, "list " + l.contents());
      s3.deleteObjects(DeleteObjectsRequest.builder().bucket(b).delete(Delete.builder().objects(ObjectIdentifier.builder().key(k).build(), ObjectIdentifier.builder().key(k + ".mp").build()).build()).build());
      check(s3.listObjectsV2(ListObjectsV2Request.builder().bucket(b).prefix(root + "java-probe/" + region + "/").build()).keyCount() == 0, "deleted");
      try {
        s3.getObject(GetObjectRequest.builder().bucket(b).key(k).build());
        check(false, "missing key");
      } catch (NoSuchKeyException expected) {}
    }
    System.out.println("OK; request payload modes seen: " + modes);
  }
  static void check(boolean ok, String what) { if (!ok) throw new AssertionError(what); }
}

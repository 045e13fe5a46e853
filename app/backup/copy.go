package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// metaSourceETag is the user metadata that keeps an object's source ETag
// in the tier, so a tier can be compared with its source without its
// manifest.
const metaSourceETag = "site-source-etag"

// Size limits of S3 copies.
const (
	// DefaultPartSize is the part size of multipart uploads; objects up to
	// this size are sent in one PUT.
	DefaultPartSize = 16 << 20
	// DefaultCopyPartSize is the part size of multipart server-side copies;
	// objects up to this size are copied with one CopyObject.
	DefaultCopyPartSize = 1 << 30
	// attempts is how often one object is tried before the run reports it.
	attempts = 3
)

// loc is a bucket and key prefix on one S3 endpoint.
type loc struct {
	c      *s3.Client
	bucket string
	prefix string
}

func (l loc) key(k string) string { return l.prefix + k }

// retry runs fn up to attempts times with a growing pause, stopping early
// for a vanished source or a cancelled ctx.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for i := range attempts {
		if err = fn(); err == nil || errors.Is(err, errVanished) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * 500 * time.Millisecond):
		}
	}
	return err
}

// streamCopy copies between two endpoints: GET from src, PUT (or a
// multipart upload for objects over partSize) to dst. The source ETag goes
// along as user metadata.
func streamCopy(src, dst loc, partSize int64) copyFunc {
	return func(ctx context.Context, key string, e entry) (entry, error) {
		var out entry
		err := retry(ctx, func() error {
			var err error
			out, err = streamOne(ctx, src, dst, key, e, partSize)
			return err
		})
		return out, err
	}
}

func streamOne(ctx context.Context, src, dst loc, key string, e entry, partSize int64) (entry, error) {
	get, err := src.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(src.bucket), Key: aws.String(src.key(key))})
	if isNotFound(err) {
		return entry{}, errVanished
	} else if err != nil {
		return entry{}, fmt.Errorf("get: %w", err)
	}
	defer drain(get.Body)
	size := aws.ToInt64(get.ContentLength)
	etag := e.ETag
	if etag == "" {
		etag = cleanETag(aws.ToString(get.ETag))
	}
	meta := map[string]string{metaSourceETag: etag}
	if size <= partSize {
		buf := make([]byte, size)
		if _, err := io.ReadFull(get.Body, buf); err != nil {
			return entry{}, fmt.Errorf("get: %w", err)
		}
		put, err := dst.c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(dst.bucket), Key: aws.String(dst.key(key)), Body: bytes.NewReader(buf),
			ContentLength: aws.Int64(size), ContentType: get.ContentType, Metadata: meta,
		})
		if err != nil {
			return entry{}, fmt.Errorf("put: %w", err)
		}
		return entry{Size: size, ETag: etag, TierETag: cleanETag(aws.ToString(put.ETag))}, nil
	}
	tierETag, err := multipartUpload(ctx, dst, key, get.Body, size, partSize, get.ContentType, meta)
	if err != nil {
		return entry{}, err
	}
	return entry{Size: size, ETag: etag, TierETag: tierETag}, nil
}

// multipartUpload sends body in parts of partSize and completes the
// upload; a failure aborts it so no parts are left behind.
func multipartUpload(ctx context.Context, dst loc, key string, body io.Reader, size, partSize int64, contentType *string, meta map[string]string) (string, error) {
	k := dst.key(key)
	mu, err := dst.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(dst.bucket), Key: aws.String(k), ContentType: contentType, Metadata: meta,
	})
	if err != nil {
		return "", fmt.Errorf("create multipart upload: %w", err)
	}
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = dst.c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(dst.bucket), Key: aws.String(k), UploadId: mu.UploadId})
	}
	var parts []types.CompletedPart
	buf := make([]byte, partSize)
	for n, off := int32(1), int64(0); off < size; n++ {
		l := min(partSize, size-off)
		if _, err := io.ReadFull(body, buf[:l]); err != nil {
			abort()
			return "", fmt.Errorf("get: %w", err)
		}
		up, err := dst.c.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(dst.bucket), Key: aws.String(k), UploadId: mu.UploadId, PartNumber: aws.Int32(n),
			Body: bytes.NewReader(buf[:l]), ContentLength: aws.Int64(l),
		})
		if err != nil {
			abort()
			return "", fmt.Errorf("upload part %d: %w", n, err)
		}
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(n)})
		off += l
	}
	done, err := dst.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(dst.bucket), Key: aws.String(k), UploadId: mu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		abort()
		return "", fmt.Errorf("complete multipart upload: %w", err)
	}
	return cleanETag(aws.ToString(done.ETag)), nil
}

// serverCopy copies inside one endpoint without the bytes passing through
// this process: CopyObject, or UploadPartCopy in parts of partSize for
// objects over partSize. User metadata (the source ETag) is kept.
func serverCopy(src, dst loc, partSize int64) copyFunc {
	return func(ctx context.Context, key string, e entry) (entry, error) {
		var out entry
		err := retry(ctx, func() error {
			var err error
			out, err = serverCopyOne(ctx, src, dst, key, e, partSize)
			return err
		})
		return out, err
	}
}

func serverCopyOne(ctx context.Context, src, dst loc, key string, e entry, partSize int64) (entry, error) {
	source := copySource(src.bucket, src.key(key))
	if e.Size <= partSize {
		out, err := dst.c.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: aws.String(dst.bucket), Key: aws.String(dst.key(key)), CopySource: aws.String(source),
			MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{metaSourceETag: e.ETag},
		})
		if isNotFound(err) {
			return entry{}, errVanished
		} else if err != nil {
			return entry{}, fmt.Errorf("copy object: %w", err)
		}
		tag := ""
		if out.CopyObjectResult != nil {
			tag = cleanETag(aws.ToString(out.CopyObjectResult.ETag))
		}
		return entry{Size: e.Size, ETag: e.ETag, TierETag: tag}, nil
	}
	k := dst.key(key)
	mu, err := dst.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(dst.bucket), Key: aws.String(k), Metadata: map[string]string{metaSourceETag: e.ETag},
	})
	if err != nil {
		return entry{}, fmt.Errorf("create multipart copy: %w", err)
	}
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = dst.c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(dst.bucket), Key: aws.String(k), UploadId: mu.UploadId})
	}
	var parts []types.CompletedPart
	for n, off := int32(1), int64(0); off < e.Size; n++ {
		end := min(off+partSize, e.Size) - 1
		up, err := dst.c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket: aws.String(dst.bucket), Key: aws.String(k), UploadId: mu.UploadId, PartNumber: aws.Int32(n),
			CopySource: aws.String(source), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
		})
		if err != nil {
			abort()
			if isNotFound(err) {
				return entry{}, errVanished
			}
			return entry{}, fmt.Errorf("upload part copy %d: %w", n, err)
		}
		var tag *string
		if up.CopyPartResult != nil {
			tag = up.CopyPartResult.ETag
		}
		parts = append(parts, types.CompletedPart{ETag: tag, PartNumber: aws.Int32(n)})
		off = end + 1
	}
	done, err := dst.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(dst.bucket), Key: aws.String(k), UploadId: mu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		abort()
		return entry{}, fmt.Errorf("complete multipart copy: %w", err)
	}
	return entry{Size: e.Size, ETag: e.ETag, TierETag: cleanETag(aws.ToString(done.ETag))}, nil
}

// copySource is the URL-escaped "bucket/key" of a server-side copy.
func copySource(bucket, key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return bucket + "/" + strings.Join(parts, "/")
}

// deleter removes objects from l.
func deleter(l loc) deleteFunc {
	return func(ctx context.Context, key string) error {
		return retry(ctx, func() error {
			_, err := l.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(l.key(key))})
			if isNotFound(err) {
				return nil
			}
			return err
		})
	}
}

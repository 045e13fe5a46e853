package media

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"
)

// MoveToPrivate takes out of the public bucket the image objects earlier
// releases put there: the importer's public copy of each original (under
// its image key, with its EXIF, GPS included) and the worker's variants
// (under "variants/", a draft's too). Each goes to the private bucket
// (an original to its images.original_key, else "originals/<key>"; a
// variant to the same key) unless an object is already there, and only
// then is it removed from public: nothing is lost. Other objects in public
// are left alone. It reports how many objects it moved; the worker's image
// sweep calls it, so a bucket already clean costs one listing.
func MoveToPrivate(ctx context.Context, s3 *minio.Client, db *sql.DB, public, private string) (int, error) {
	moved := 0
	for obj := range s3.ListObjects(ctx, public, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return moved, fmt.Errorf("list %s: %w", public, obj.Err)
		}
		dst, err := privateKey(ctx, db, obj.Key)
		if err != nil {
			return moved, err
		}
		if dst == "" {
			continue
		}
		if err := ensureCopy(ctx, s3, public, obj.Key, private, dst); err != nil {
			return moved, err
		}
		if err := s3.RemoveObject(ctx, public, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			return moved, fmt.Errorf("remove %s/%s: %w", public, obj.Key, err)
		}
		moved++
	}
	return moved, nil
}

// privateKey is where the public object key belongs in the private
// bucket, or "" when it is not an image object.
func privateKey(ctx context.Context, db *sql.DB, key string) (string, error) {
	if strings.HasPrefix(key, "variants/") {
		return key, nil
	}
	var original string
	err := db.QueryRowContext(ctx, `SELECT original_key FROM images WHERE key = ?`, key).Scan(&original)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("image %s: %w", key, err)
	}
	if original == "" {
		original = "originals/" + key
	}
	return original, nil
}

// ensureCopy copies src to dst unless dst exists.
func ensureCopy(ctx context.Context, s3 *minio.Client, srcBucket, src, dstBucket, dst string) error {
	_, err := s3.StatObject(ctx, dstBucket, dst, minio.StatObjectOptions{})
	if err == nil {
		return nil
	}
	if code := minio.ToErrorResponse(err).Code; code != "NoSuchKey" && code != "NotFound" {
		return fmt.Errorf("stat %s/%s: %w", dstBucket, dst, err)
	}
	if _, err := s3.CopyObject(ctx, minio.CopyDestOptions{Bucket: dstBucket, Object: dst},
		minio.CopySrcOptions{Bucket: srcBucket, Object: src}); err != nil {
		return fmt.Errorf("copy %s/%s to %s/%s: %w", srcBucket, src, dstBucket, dst, err)
	}
	return nil
}

// Package media makes the responsive variants of uploaded images: it
// checks the header before decoding (pixel cap, real image formats only),
// applies the EXIF orientation, drops all metadata, and encodes JPEG
// variants at fixed widths, a square thumbnail and a tiny blurred
// placeholder.
package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // GIF decoder (first frame)
	_ "image/jpeg" // JPEG decoder
	_ "image/png"  // PNG decoder

	_ "golang.org/x/image/webp" // WebP decoder
)

// Errors of images that no retry can fix.
var (
	// ErrNotImage is a file in none of the accepted formats, whatever its name.
	ErrNotImage = errors.New("not a JPEG, PNG, GIF or WebP image")
	// ErrTooManyPixels is an image above the pixel cap, refused before decoding.
	ErrTooManyPixels = errors.New("image has too many pixels")
	// ErrTooLarge is a file above the byte cap.
	ErrTooLarge = errors.New("image file too large")
	// ErrCorrupt is an image whose header is fine but whose data is not.
	ErrCorrupt = errors.New("image data is damaged or truncated")
)

// Header is what an image's header tells before any pixel is decoded.
type Header struct {
	// Format is "jpeg", "png", "gif" or "webp".
	Format string
	// Width and Height are as stored, before EXIF orientation.
	Width, Height int
	// Orientation is the EXIF orientation, 1 (upright) to 8.
	Orientation int

	// decoded is what the decoder holds at its peak, in bytes (see
	// decoderBytes); yuv420 is a JPEG that toRGBA can take straight to half
	// size.
	decoded int64
	yuv420  bool
}

// Upright is the size after EXIF orientation.
func (h Header) Upright() (w, hh int) {
	if h.Orientation >= 5 {
		return h.Height, h.Width
	}
	return h.Width, h.Height
}

// Probe reads the header of data and refuses what is not an accepted image
// or has more than maxPixels pixels; it never decodes the pixels.
func Probe(data []byte, maxPixels int) (Header, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return Header{}, ErrNotImage
		}
		return Header{}, fmt.Errorf("%w: header: %v", ErrNotImage, err)
	}
	h := Header{Format: format, Width: cfg.Width, Height: cfg.Height, Orientation: 1}
	if h.Width <= 0 || h.Height <= 0 {
		return h, fmt.Errorf("%w: %d×%d", ErrNotImage, h.Width, h.Height)
	}
	// Multiply in 64 bits: 100000×100000 must not wrap on any platform.
	if maxPixels > 0 && int64(h.Width)*int64(h.Height) > int64(maxPixels) {
		return h, fmt.Errorf("%w: %d×%d is over the cap of %d", ErrTooManyPixels, h.Width, h.Height, maxPixels)
	}
	if format == "jpeg" {
		h.Orientation = jpegOrientation(data)
	}
	h.decoded, h.yuv420 = decoderBytes(data, format, cfg.ColorModel, h.Width, h.Height)
	return h, nil
}

// jpegOrientation finds the EXIF orientation tag in a JPEG's APP1
// segment; 1 when there is none or it cannot be read.
func jpegOrientation(data []byte) int {
	o := 1
	jpegSegments(data, func(marker byte, seg []byte) bool {
		if marker == 0xE1 && len(seg) > 14 && string(seg[:6]) == "Exif\x00\x00" {
			o = exifOrientation(seg[6:])
			return false
		}
		return true
	})
	return o
}

// jpegSegments calls f with the marker and payload of each segment of a
// JPEG before its first scan, until f returns false; it stops quietly at
// anything it cannot read.
func jpegSegments(data []byte, f func(marker byte, seg []byte) bool) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return
		}
		marker := data[i+1]
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 || marker == 0xFF {
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan / end: the pixels follow
			return
		}
		size := int(binary.BigEndian.Uint16(data[i+2:]))
		if size < 2 || i+2+size > len(data) {
			return
		}
		if !f(marker, data[i+4:i+2+size]) {
			return
		}
		i += 2 + size
	}
}

// exifOrientation reads tag 0x0112 of IFD0 in a TIFF structure.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(tiff[4:]))
	if off < 8 || off+2 > len(tiff) {
		return 1
	}
	n := int(bo.Uint16(tiff[off:]))
	for k := 0; k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > len(tiff) {
			return 1
		}
		if bo.Uint16(tiff[e:]) == 0x0112 {
			v := int(bo.Uint16(tiff[e+8:]))
			if v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

package media

import "image/color"

// decoderBytes estimates, from the header alone, the most bytes the
// standard decoder of format holds while decoding a w×h image: its decoded
// form and, where they are as large, its working buffers. yuv420 reports a
// 4:2:0 JPEG, which toRGBA can take straight to half size.
func decoderBytes(data []byte, format string, model color.Model, w, h int) (n int64, yuv420 bool) {
	px := int64(w) * int64(h)
	switch format {
	case "jpeg":
		return jpegDecoderBytes(data, px)
	case "png":
		n = px * int64(pngBits(model)) / 8
		if len(data) > 28 && data[28] == 1 { // Adam7: each pass is decoded apart, the largest holds half the pixels
			n += n / 2
		}
		return n, false
	case "gif":
		return px, false // paletted, one byte a pixel; only the first frame is decoded
	case "webp":
		switch model {
		case color.YCbCrModel: // lossy, 4:2:0
			return px * 3 / 2, false
		case color.NYCbCrAModel: // lossy, with an alpha plane decoded as a lossless image
			return px*3/2 + px + 8*px, false
		}
		return 8 * px, false // lossless: NRGBA, and a transform's copy of it
	}
	return 8 * px, false
}

// pngBits is the bits a pixel of the image/png decoder's result for model.
func pngBits(model color.Model) int {
	if _, ok := model.(color.Palette); ok {
		return 8
	}
	switch model {
	case color.GrayModel:
		return 8
	case color.Gray16Model:
		return 16
	case color.RGBAModel, color.NRGBAModel:
		return 32
	}
	return 64 // RGBA64, NRGBA64, or unknown: the most
}

// jpegDecoderBytes reads the JPEG's frame header: the decoder keeps one
// byte a sample of each component (Gray or YCbCr planes, subsampled
// chroma smaller), then converts four components to CMYK, and a
// progressive JPEG keeps every block's coefficients (four bytes a sample)
// until its last scan.
func jpegDecoderBytes(data []byte, px int64) (int64, bool) {
	var comps [][2]int64 // horizontal and vertical sampling factors
	progressive := false
	jpegSegments(data, func(marker byte, seg []byte) bool {
		if marker < 0xC0 || marker > 0xCF || marker == 0xC4 || marker == 0xC8 || marker == 0xCC {
			return true // not a start of frame
		}
		progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE
		for k := 0; len(seg) >= 6 && k < int(seg[5]) && 6+3*k+1 < len(seg); k++ {
			hv := seg[6+3*k+1]
			comps = append(comps, [2]int64{max(1, int64(hv>>4)), max(1, int64(hv&15))})
		}
		return false
	})
	if len(comps) == 0 {
		return 8 * px, false
	}
	hmax, vmax := int64(1), int64(1)
	for _, c := range comps {
		hmax, vmax = max(hmax, c[0]), max(vmax, c[1])
	}
	var samples int64
	for _, c := range comps {
		samples += px * c[0] * c[1] / (hmax * vmax)
	}
	n := samples
	if len(comps) == 4 {
		n += 4 * px
	}
	if progressive {
		n += 4 * samples
	}
	yuv420 := len(comps) == 3 && comps[0] == [2]int64{2, 2} && comps[1] == [2]int64{1, 1} && comps[2] == [2]int64{1, 1}
	return n, yuv420
}

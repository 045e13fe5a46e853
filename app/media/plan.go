package media

// plan is the geometry of one image's outputs, known from its header
// before any pixel is decoded.
type plan struct {
	hdr Header
	// upW and upH are the upright size; targets the upright variant widths.
	upW, upH int
	targets  []int
	// thumb is the thumbnail's side; thumbNeed the stored width whose
	// centred square crop is thumb wide.
	thumb, thumbNeed int
	// halve: every output needs at most half the stored width, so the
	// full-size RGBA copy is halved at once.
	halve bool
}

func newPlan(hdr Header, widths []int) plan {
	p := plan{hdr: hdr}
	p.upW, p.upH = hdr.Upright()
	p.targets = targetWidths(widths, p.upW)
	side := min(hdr.Width, hdr.Height)
	p.thumb = min(ThumbSize, side)
	p.thumbNeed = (p.thumb*hdr.Width + side - 1) / side
	widest, _ := p.stored(p.targets[len(p.targets)-1])
	p.halve = hdr.Width/2 >= max(widest, p.thumbNeed)
	return p
}

// stored is the stored size of the output of upright width w: work is done
// in stored orientation, where a width after rotation is a stored height
// when the image lies on its side.
func (p plan) stored(w int) (int, int) {
	h := max(1, (w*p.upH+p.upW/2)/p.upW)
	if p.hdr.Orientation >= 5 {
		return h, w
	}
	return w, h
}

// footprint estimates the most bytes that processing the image holds at
// once: what the decoder holds, the RGBA copy made while the decoded image
// is still held and the pyramid of its halvings, and the outputs made in
// parallel (each scaled, perhaps turned, then encoded). It errs high: the
// parts are added although the decoded image is dropped before the
// outputs are made.
func (p plan) footprint() int64 {
	px := int64(p.hdr.Width) * int64(p.hdr.Height)
	work := 4*px + 4*px/3 // the RGBA copy and its half, or its halvings
	if p.halve && p.hdr.yuv420 {
		work = px + px/3 // straight to half size: a quarter of the pixels at 4 bytes, and its halvings
	}
	var out int64
	for _, w := range p.targets {
		sw, sh := p.stored(w)
		out += 4 * int64(sw) * int64(sh)
	}
	out += 4 * int64(p.thumb) * int64(p.thumb)
	return p.hdr.decoded + work + 2*out
}

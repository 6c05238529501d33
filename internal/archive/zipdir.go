package archive

import (
	"encoding/binary"
	"io"
)

// The zip records read here (APPNOTE.TXT 4.3), by signature and fixed size.
const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigEnd        = 0x06054b50
	sigEnd64      = 0x06064b50
	sigLocator64  = 0x07064b50
	sigDescriptor = 0x08074b50
	localLen      = 30
	centralLen    = 46
	endLen        = 22
	end64Len      = 56
	locator64Len  = 20
	maxComment    = 1<<16 - 1
	max16         = 1<<16 - 1
	max32         = 1<<32 - 1
	zip64ExtraID  = 0x0001
	unicodePathID = 0x7075
	flagEncrypted = 0x1
	flagDataDesc  = 0x8
	flagStrongEnc = 0x40
	flagUTF8      = 0x800
)

// A record is what the central directory says of an entry.
type record struct {
	name          string
	creator       uint16
	flags, method uint16
	crc           uint32
	packed, size  uint64
	offset        uint64
	external      uint32
	unicodePath   *string // an Info-ZIP Unicode Path extra field's name
	dataOffset    uint64  // found by the local header walk
}

// A directory is where the end records put the central directory.
type directory struct {
	count        uint64
	offset, size uint64
	end          uint64 // where the end records start
}

// le reads little-endian fields in order.
type le []byte

func (b *le) u16() uint16 { v := binary.LittleEndian.Uint16(*b); *b = (*b)[2:]; return v }
func (b *le) u32() uint32 { v := binary.LittleEndian.Uint32(*b); *b = (*b)[4:]; return v }
func (b *le) u64() uint64 { v := binary.LittleEndian.Uint64(*b); *b = (*b)[8:]; return v }

// readAt reads n bytes at off, past which the archive has size bytes.
func readAt(r io.ReaderAt, off, n, size int64) ([]byte, error) {
	if off < 0 || n < 0 || off > size || n > size-off {
		return nil, invalid("not a valid zip archive: it cannot be read (a record at %d runs past the end)", off)
	}
	b := make([]byte, n)
	if m, err := r.ReadAt(b, off); m < len(b) {
		return nil, err
	}
	return b, nil
}

// findEnd finds the end of central directory record: the one whose comment
// ends exactly at the end of the archive, with no other end signature in
// that comment (readers that search backwards would stop there).
func findEnd(r io.ReaderAt, size int64) (int64, []byte, error) {
	if size < endLen {
		return 0, nil, invalid("not a valid zip archive: it cannot be read (%d bytes is too short)", size)
	}
	tail, err := readAt(r, size-min(size, endLen+maxComment), min(size, endLen+maxComment), size)
	if err != nil {
		return 0, nil, err
	}
	base := size - int64(len(tail))
	for i := len(tail) - endLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) != sigEnd {
			continue
		}
		if int(binary.LittleEndian.Uint16(tail[i+20:])) != len(tail)-i-endLen {
			return 0, nil, invalid("data after the end of the zip archive (appended data, or an end record inside the comment)")
		}
		return base + int64(i), tail[i:], nil
	}
	return 0, nil, invalid("not a valid zip archive: it cannot be read (no end of central directory record at its end)")
}

// readDirectory reads the end records and bounds the entry count before
// the central directory is read.
func readDirectory(r io.ReaderAt, size int64, lim Limits) (directory, error) {
	at, end, err := findEnd(r, size)
	if err != nil {
		return directory{}, err
	}
	b := le(end[4:])
	disk, cdDisk, onDisk, count := b.u16(), b.u16(), b.u16(), b.u16()
	d := directory{count: uint64(count), size: uint64(b.u32()), offset: uint64(b.u32()), end: uint64(at)}
	if disk != 0 || cdDisk != 0 || onDisk != count {
		return directory{}, invalid("the zip archive spans several disks")
	}
	if err := d.zip64(r, at, size); err != nil {
		return directory{}, err
	}
	if d.count > uint64(lim.Entries) {
		return directory{}, tooLarge("the archive has more than %d entries", lim.Entries)
	}
	switch {
	case d.offset > d.end || d.size > d.end-d.offset:
		return directory{}, invalid("not a valid zip archive: it cannot be read (the central directory lies outside it)")
	case d.offset+d.size != d.end:
		return directory{}, invalid("data before the zip archive's first entry or between its central directory and its end record (prepended data, or a second archive)")
	case d.size < d.count*centralLen:
		return directory{}, invalid("not a valid zip archive: it cannot be read (the central directory is too short for %d entries)", d.count)
	}
	return d, nil
}

// zip64 reads the zip64 end records, which come right before the end
// record when the locator is there or the end record's fields overflow.
func (d *directory) zip64(r io.ReaderAt, at, size int64) error {
	overflow := d.count == max16 || d.size == max32 || d.offset == max32
	var loc []byte
	if at >= locator64Len {
		b, err := readAt(r, at-locator64Len, locator64Len, size)
		if err != nil {
			return err
		}
		if binary.LittleEndian.Uint32(b) == sigLocator64 {
			loc = b
		}
	}
	if loc == nil {
		if overflow {
			return invalid("not a valid zip archive: it cannot be read (zip64 fields without zip64 end records)")
		}
		return nil
	}
	b := le(loc[4:])
	if b.u32() != 0 || b.u64() != uint64(at-locator64Len-end64Len) || b.u32() != 1 {
		return invalid("the zip64 end of central directory locator does not point right before itself")
	}
	return d.read64(r, at-locator64Len-end64Len, size)
}

// read64 reads the zip64 end of central directory record at off, whose
// values the end record must repeat or leave at their maximum.
func (d *directory) read64(r io.ReaderAt, off, size int64) error {
	raw, err := readAt(r, off, end64Len, size)
	if err != nil {
		return err
	}
	b := le(raw)
	if b.u32() != sigEnd64 || b.u64() != end64Len-12 {
		return invalid("not a valid zip archive: it cannot be read (a broken zip64 end of central directory record)")
	}
	b.u16() // version made by
	b.u16() // version needed
	disk, cdDisk, onDisk, count := b.u32(), b.u32(), b.u64(), b.u64()
	cdSize, cdOffset := b.u64(), b.u64()
	if disk != 0 || cdDisk != 0 || onDisk != count {
		return invalid("the zip archive spans several disks")
	}
	if !agree(d.count, count, max16) || !agree(d.size, cdSize, max32) || !agree(d.offset, cdOffset, max32) {
		return invalid("the zip archive's end record and zip64 end record disagree")
	}
	d.count, d.size, d.offset, d.end = count, cdSize, cdOffset, uint64(off)
	return nil
}

// agree reports whether a 16- or 32-bit field repeats a zip64 value or
// leaves it to the zip64 record (sentinel).
func agree(short, long, sentinel uint64) bool {
	return short == long || short == sentinel
}

// readCentral reads the d.count records of the central directory, which
// must fill it exactly.
func readCentral(r io.ReaderAt, size int64, d directory, lim Limits) ([]record, error) {
	sr := io.NewSectionReader(r, int64(d.offset), int64(d.size))
	recs := make([]record, 0, d.count)
	for i := uint64(0); i < d.count; i++ {
		rec, err := readRecord(sr, lim)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	if pos, _ := sr.Seek(0, io.SeekCurrent); pos != int64(d.size) {
		return nil, invalid("the zip archive's central directory has %d bytes after its %d records", int64(d.size)-pos, d.count)
	}
	return recs, nil
}

// readRecord reads one central directory header.
func readRecord(sr *io.SectionReader, lim Limits) (record, error) {
	broken := func(why string) error {
		return invalid("not a valid zip archive: it cannot be read (central directory: %s)", why)
	}
	var fixed [centralLen]byte
	if _, err := io.ReadFull(sr, fixed[:]); err != nil {
		return record{}, broken("too short for its entries")
	}
	b := le(fixed[:])
	if b.u32() != sigCentral {
		return record{}, broken("a record has no signature")
	}
	var rec record
	rec.creator = b.u16()
	b.u16() // version needed
	rec.flags, rec.method = b.u16(), b.u16()
	b.u32() // time and date
	rec.crc, rec.packed, rec.size = b.u32(), uint64(b.u32()), uint64(b.u32())
	nameLen, extraLen, commentLen := int64(b.u16()), int64(b.u16()), int64(b.u16())
	disk := b.u16()
	b.u16() // internal attributes
	rec.external, rec.offset = b.u32(), uint64(b.u32())
	if nameLen > int64(lim.NameLen) {
		return record{}, invalid("an entry's name is longer than %d bytes", lim.NameLen)
	}
	vars := make([]byte, nameLen+extraLen+commentLen)
	if _, err := io.ReadFull(sr, vars); err != nil {
		return record{}, broken("too short for its entries")
	}
	rec.name = string(vars[:nameLen])
	if err := rec.extra(vars[nameLen:nameLen+extraLen], disk); err != nil {
		return record{}, err
	}
	return rec, nil
}

// extra applies a central directory record's extra fields: zip64 values
// for the fields that overflow, and the Info-ZIP Unicode Path.
func (rec *record) extra(extra []byte, disk uint16) error {
	seen := map[uint16]bool{}
	for len(extra) > 0 {
		if len(extra) < 4 || int(binary.LittleEndian.Uint16(extra[2:])) > len(extra)-4 {
			return invalid("entry %q has a malformed extra field", clip(rec.name))
		}
		id, n := binary.LittleEndian.Uint16(extra), binary.LittleEndian.Uint16(extra[2:])
		body := le(extra[4 : 4+n])
		extra = extra[4+n:]
		if seen[id] && (id == zip64ExtraID || id == unicodePathID) {
			return invalid("entry %q has two extra fields of type %#04x", clip(rec.name), id)
		}
		seen[id] = true
		switch id {
		case zip64ExtraID:
			if err := rec.zip64(&body, &disk); err != nil {
				return err
			}
		case unicodePathID:
			if len(body) < 5 || body[0] != 1 {
				return invalid("entry %q has a malformed Unicode Path extra field", clip(rec.name))
			}
			p := string(body[5:])
			rec.unicodePath = &p
		}
	}
	if disk != 0 {
		return invalid("the zip archive spans several disks")
	}
	return nil
}

// zip64 reads the zip64 extra field: one 64-bit value for each 32-bit
// field at its maximum, in a fixed order.
func (rec *record) zip64(b *le, disk *uint16) error {
	for _, f := range []*uint64{&rec.size, &rec.packed, &rec.offset} {
		if *f != max32 {
			continue
		}
		if len(*b) < 8 {
			return invalid("entry %q has a zip64 extra field too short for its sizes", clip(rec.name))
		}
		*f = b.u64()
	}
	if *disk == max16 && len(*b) >= 4 {
		*disk = uint16(min(b.u32(), max16))
	}
	return nil
}

// walkLocal checks that the local file headers start at offset 0 and
// follow one another in central-directory order, each agreeing with its
// record, up to the central directory: nothing before, between or after
// them, no overlap, no second archive. It sets each record's dataOffset.
func walkLocal(r io.ReaderAt, size int64, recs []record, d directory) error {
	for i := 1; i < len(recs); i++ {
		if recs[i].offset <= recs[i-1].offset {
			return invalid("entry %q overlaps an earlier entry or is out of order (the central directory puts it at offset %d)", clip(recs[i].name), recs[i].offset)
		}
	}
	pos := uint64(0)
	for i := range recs {
		rec := &recs[i]
		if rec.offset != pos {
			return misplaced(rec, pos, i)
		}
		next := d.offset
		if i+1 < len(recs) {
			next = recs[i+1].offset
		}
		end, err := checkLocal(r, size, rec, next)
		if err != nil {
			return err
		}
		pos = end
	}
	if pos != d.offset {
		return invalid("%d bytes of data before the zip archive's central directory (another archive?)", d.offset-pos)
	}
	return nil
}

// misplaced explains an entry that is not where the previous one ends.
func misplaced(rec *record, pos uint64, i int) error {
	if i == 0 {
		return invalid("%d bytes of data before the zip archive's first entry (prepended data: readers that search for it differ)", rec.offset)
	}
	return invalid("%d bytes of data before entry %q that no entry accounts for", rec.offset-pos, clip(rec.name))
}

// checkLocal checks the local header and data descriptor of rec, which
// must end at next, and returns where they end.
func checkLocal(r io.ReaderAt, size int64, rec *record, next uint64) (uint64, error) {
	lh, err := readLocal(r, size, rec)
	if err != nil {
		return 0, err
	}
	rec.dataOffset = rec.offset + localLen + lh.varLen
	end := rec.dataOffset + rec.packed
	if end < rec.dataOffset || end > next {
		return 0, invalid("entry %q overlaps the next entry or the central directory", clip(rec.name))
	}
	gap := next - end
	if rec.flags&flagDataDesc == 0 {
		if gap != 0 {
			return 0, invalid("%d bytes of data after entry %q that no entry accounts for", gap, clip(rec.name))
		}
		return end, nil
	}
	if err := checkDescriptor(r, size, rec, end, gap); err != nil {
		return 0, err
	}
	return next, nil
}

// A localHeader is the part of a local file header compared with the
// central directory.
type localHeader struct {
	flags, method uint16
	crc           uint32
	packed, size  uint64
	varLen        uint64 // name and extra field
}

// readLocal reads rec's local file header and checks that it agrees.
func readLocal(r io.ReaderAt, size int64, rec *record) (localHeader, error) {
	fixed, err := readAt(r, int64(min(rec.offset, uint64(size))), localLen, size)
	if err != nil {
		return localHeader{}, err
	}
	b := le(fixed)
	if b.u32() != sigLocal {
		return localHeader{}, invalid("entry %q: no local file header where the central directory puts it", clip(rec.name))
	}
	b.u16() // version needed
	lh := localHeader{flags: b.u16(), method: b.u16()}
	b.u32() // time and date
	lh.crc, lh.packed, lh.size = b.u32(), uint64(b.u32()), uint64(b.u32())
	nameLen, extraLen := uint64(b.u16()), uint64(b.u16())
	lh.varLen = nameLen + extraLen
	vars, err := readAt(r, int64(rec.offset)+localLen, int64(lh.varLen), size)
	if err != nil {
		return localHeader{}, err
	}
	if string(vars[:nameLen]) != rec.name {
		return localHeader{}, invalid("entry %q: its local header names %q (readers differ on which name counts)", clip(rec.name), clip(string(vars[:nameLen])))
	}
	lh.localZip64(vars[nameLen:])
	return lh, lh.agrees(rec)
}

// localZip64 applies a local header's zip64 extra field, which holds both
// sizes when either overflows.
func (lh *localHeader) localZip64(extra []byte) {
	for len(extra) >= 4 {
		id, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		if n > len(extra)-4 {
			return
		}
		if id == zip64ExtraID && n >= 16 && (lh.size == max32 || lh.packed == max32) {
			b := le(extra[4:])
			lh.size, lh.packed = b.u64(), b.u64()
		}
		extra = extra[4+n:]
	}
}

// agrees checks a local header against the central directory record.
func (lh localHeader) agrees(rec *record) error {
	differ := func(what string) error {
		return invalid("entry %q: its local header and the central directory disagree on its %s (readers differ on which counts)", clip(rec.name), what)
	}
	// With a data descriptor the local CRC and sizes may be zero; a size
	// at its 32-bit maximum leaves it to zip64 (Go writes no zip64 extra
	// field in the local header of a raw entry).
	same := func(local, central uint64) bool {
		return local == central || rec.flags&flagDataDesc != 0 && local == 0 || local == max32 && central >= max32
	}
	switch {
	case lh.flags != rec.flags:
		return differ("flags")
	case lh.method != rec.method:
		return differ("compression method")
	case !same(uint64(lh.crc), uint64(rec.crc)):
		return differ("CRC-32")
	case !same(lh.packed, rec.packed), !same(lh.size, rec.size):
		return differ("size")
	}
	return nil
}

// checkDescriptor checks the data descriptor of gap bytes at off: with or
// without its signature, with 32- or 64-bit sizes, and agreeing with rec.
func checkDescriptor(r io.ReaderAt, size int64, rec *record, off, gap uint64) error {
	bad := invalid("entry %q: its data descriptor is missing or disagrees with the central directory", clip(rec.name))
	if gap < 12 || gap > 24 || gap%4 != 0 {
		return bad
	}
	raw, err := readAt(r, int64(off), int64(gap), size)
	if err != nil {
		return err
	}
	b := le(raw)
	if gap == 16 || gap == 24 {
		if b.u32() != sigDescriptor {
			return bad
		}
	}
	crc := b.u32()
	var packed, unpacked uint64
	if len(b) == 16 {
		packed, unpacked = b.u64(), b.u64()
	} else {
		packed, unpacked = uint64(b.u32()), uint64(b.u32())
	}
	if crc != rec.crc || packed != rec.packed || unpacked != rec.size {
		return bad
	}
	return nil
}

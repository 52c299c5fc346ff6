package clipmodel

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Pickle opcodes by the form of their argument (Python's pickletools lists them all). gopickle
// allocates what a length argument claims before reading it; checkPickleLengths runs first so
// that every claimed length fits in the data.
var (
	// pickleFixedArgs are opcodes followed by a fixed number of bytes.
	pickleFixedArgs = map[byte]int{
		'(': 0, '.': 0, '0': 0, '1': 0, '2': 0, 'N': 0, 'R': 0, 'a': 0, 'b': 0, 'd': 0, '}': 0, 'e': 0,
		'l': 0, ']': 0, 'o': 0, 's': 0, 't': 0, ')': 0, 'u': 0, 'Q': 0, 0x81: 0, 0x85: 0, 0x86: 0,
		0x87: 0, 0x88: 0, 0x89: 0, 0x8f: 0, 0x90: 0, 0x91: 0, 0x92: 0, 0x93: 0, 0x94: 0, 0x97: 0, 0x98: 0,
		'K': 1, 'q': 1, 'h': 1, 0x80: 1, 0x82: 1, 'M': 2, 0x83: 2,
		'J': 4, 'r': 4, 'j': 4, 0x84: 4, 'G': 8,
	}
	// pickleLengthArgs are opcodes followed by a little-endian length of 1, 4 or 8 bytes and
	// then that many bytes (FRAME's bytes are further opcodes, which the scan goes on reading).
	pickleLengthArgs = map[byte]int{
		0x8a: 1, 'U': 1, 0x8c: 1, 'C': 1,
		'T': 4, 'X': 4, 'B': 4, 0x8b: 4,
		0x8d: 8, 0x8e: 8, 0x96: 8, 0x95: 8,
	}
	// pickleLineArgs are opcodes followed by newline-terminated text (GLOBAL and INST by two lines).
	pickleLineArgs = map[byte]int{'I': 1, 'L': 1, 'F': 1, 'S': 1, 'V': 1, 'P': 1, 'g': 1, 'p': 1, 'c': 2, 'i': 2}
)

// checkPickleLengths walks the opcodes of a pickle up to STOP, failing on an unknown opcode or
// an argument that runs past the end of the data.
func checkPickleLengths(data []byte) error {
	for pos := 0; pos < len(data); {
		op := data[pos]
		pos++
		next, err := skipPickleArg(data, op, pos)
		if err != nil {
			return fmt.Errorf("opcode 0x%02x at byte %d: %w", op, pos-1, err)
		}
		if op == '.' {
			return nil
		}
		pos = next
	}
	return fmt.Errorf("the pickle ends without STOP")
}

// skipPickleArg returns where op's argument, starting at pos, ends.
func skipPickleArg(data []byte, op byte, pos int) (int, error) {
	rest := len(data) - pos
	if n, ok := pickleFixedArgs[op]; ok {
		if n > rest {
			return 0, fmt.Errorf("argument runs past the end")
		}
		return pos + n, nil
	}
	if width, ok := pickleLengthArgs[op]; ok {
		if width > rest {
			return 0, fmt.Errorf("length runs past the end")
		}
		var n uint64
		switch width {
		case 1:
			n = uint64(data[pos])
		case 4:
			n = uint64(binary.LittleEndian.Uint32(data[pos:]))
		default:
			n = binary.LittleEndian.Uint64(data[pos:])
		}
		if n > uint64(rest-width) {
			return 0, fmt.Errorf("length %d runs past the end", n)
		}
		if op == 0x95 { // FRAME: its contents are opcodes.
			return pos + width, nil
		}
		return pos + width + int(n), nil
	}
	if lines, ok := pickleLineArgs[op]; ok {
		for range lines {
			end := bytes.IndexByte(data[pos:], '\n')
			if end < 0 {
				return 0, fmt.Errorf("text argument without a newline")
			}
			pos += end + 1
		}
		return pos, nil
	}
	return 0, fmt.Errorf("not a pickle opcode")
}

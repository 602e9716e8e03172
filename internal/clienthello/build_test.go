package clienthello

import "encoding/binary"

// Builders of synthetic hellos for the malformed-input table.

func u16(n int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(n)) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ext frames one extension.
func ext(typ int, data []byte) []byte { return cat(u16(typ), u16(len(data)), data) }

// sniExt frames a server_name extension with host_name entries.
func sniExt(names ...string) []byte {
	var list []byte
	for _, n := range names {
		list = cat(list, []byte{nameTypeHost}, u16(len(n)), []byte(n))
	}
	return ext(extServerName, cat(u16(len(list)), list))
}

// helloBody frames a ClientHello body; exts nil means no extensions block.
func helloBody(sessionID, suites, comp, exts []byte) []byte {
	b := cat([]byte{3, 3}, make([]byte, 32), []byte{byte(len(sessionID))}, sessionID,
		u16(len(suites)), suites, []byte{byte(len(comp))}, comp)
	if exts != nil {
		b = cat(b, u16(len(exts)), exts)
	}
	return b
}

// simpleBody is a valid body with the given extensions.
func simpleBody(exts ...[]byte) []byte {
	return helloBody(nil, []byte{0x13, 0x01}, []byte{0}, cat(append([][]byte{{}}, exts...)...))
}

// handshake frames a ClientHello message around body.
func handshake(typ byte, body []byte) []byte {
	n := len(body)
	return cat([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body)
}

// record frames one handshake record (version 3.1, as first hellos use).
func record(payload []byte) []byte {
	return cat([]byte{recordTypeHandshake, 3, 1}, u16(len(payload)), payload)
}

// reframe splits the handshake bytes carried by hello's records into
// records of the given payload sizes (the last one takes the rest).
func reframe(hello []byte, sizes ...int) []byte {
	msg := payloads(hello)
	var out []byte
	for _, n := range sizes {
		if n >= len(msg) {
			break
		}
		out = cat(out, record(msg[:n]))
		msg = msg[n:]
	}
	return cat(out, record(msg))
}

// payloads concatenates the record payloads of well-formed records.
func payloads(recs []byte) []byte {
	var msg []byte
	for len(recs) >= 5 {
		n := int(binary.BigEndian.Uint16(recs[3:]))
		msg = append(msg, recs[5:5+n]...)
		recs = recs[5+n:]
	}
	return msg
}

package gossip

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Node metadata, carried by memberlist in every alive message:
//
//	[metaVersion][role: 1 origin, 2 edge][varint len][region]
const metaVersion byte = 1

// Member is a live member of the cluster as seen by this node.
type Member struct {
	Name   string
	Addr   netip.AddrPort
	Role   Role   // empty if the metadata could not be decoded
	Region string // empty if the metadata could not be decoded
}

func encodeMeta(role Role, region string) []byte {
	r := byte(0)
	switch role {
	case RoleOrigin:
		r = 1
	case RoleEdge:
		r = 2
	}
	b := []byte{metaVersion, r}
	b = binary.AppendUvarint(b, uint64(len(region)))
	return append(b, region...)
}

func decodeMeta(b []byte) (Role, string, error) {
	if len(b) < 3 || b[0] != metaVersion {
		return "", "", fmt.Errorf("%w: node meta", ErrMalformed)
	}
	var role Role
	switch b[1] {
	case 1:
		role = RoleOrigin
	case 2:
		role = RoleEdge
	default:
		return "", "", fmt.Errorf("%w: node role %d", ErrMalformed, b[1])
	}
	l, n := binary.Uvarint(b[2:])
	if n <= 0 || l == 0 || l > maxRegionLen || uint64(len(b)-2-n) != l {
		return "", "", fmt.Errorf("%w: node region", ErrMalformed)
	}
	return role, string(b[2+n:]), nil
}

# Tools the origin's fault tests drive for real (they run as root, as in CI):
# ip (network namespaces and veths: partitions of processes), nft (a port
# blocked inside one namespace), curl (to reach a partitioned namespace from
# inside), losetup and fsfreeze (a loop-device disk that gets frozen) and
# mkfs.ext4 (its filesystem; EXT4_IOC_SHUTDOWN makes it fail).
need_apt ip=iproute2 nft=nftables curl=curl losetup=mount fsfreeze=util-linux mkfs.ext4=e2fsprogs

# End-to-end PXE boots of a real client: QEMU (TCG) with Debian's iPXE ROM boots a Debian kernel
# and a busybox initramfs from pinetboot-server. About 45 s each here; the limit leaves room for
# a slower CI (ASan build) and a first run that downloads the kernel package (about 70 MB) into
# ${PINETBOOT_CACHE:-/var/cache/pinetboot-test}.
pinetboot_add_script_test(e2e_qemu_full e2e_qemu_full.sh TIMEOUT 480)
pinetboot_add_script_test(e2e_qemu_proxy e2e_qemu_proxy.sh TIMEOUT 480)
# The NFS root end to end: an image, a copy and a shared board, NFS-Ganesha with the generated
# exports, eight QEMU boots in four pairs side by side (first boots and a refused MAC, second
# boots, upgrade, rollback in proxy mode; a pair takes 30-60 s here, depending on the load), plus
# a one-time download of the kernel's modules into the cache. Budget: 4 minutes.
pinetboot_add_script_test(e2e_nfsroot e2e_nfsroot.sh TIMEOUT 420)

#!/usr/bin/env bats
# End-to-end: an image of 200 layers (a docker save archive generated here:
# busybox at the bottom, then 199 one-file layers) loads and runs. Its
# overlay options (~100 bytes of path per layer) pass the one page mount(2)
# takes, so the rootfs is mounted through "lowerdir+".

bats_require_minimum_version 1.5.0
load ../helpers/berth

setup_file() {
  start_berthd
}

teardown_file() {
  stop_berthd
}

@test "docker load of a 200-layer image, then run reads the bottom and top layers" {
  local tar=$BATS_TEST_TMPDIR/deep.tar
  python3 - "$(busybox_tar)" "$tar" <<'PY'
import hashlib, io, json, sys, tarfile
base, out = sys.argv[1], sys.argv[2]
layers = [open(base, 'rb').read()]
for i in range(1, 200):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w', format=tarfile.USTAR_FORMAT) as t:
        for name, data in ((f'layer{i}', f'{i}\n'.encode()), ('who', f'{i}\n'.encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1600000000
            t.addfile(ti, io.BytesIO(data))
    layers.append(b.getvalue())
diff_ids = ['sha256:' + hashlib.sha256(l).hexdigest() for l in layers]
cfg = json.dumps({
    'architecture': 'amd64', 'os': 'linux', 'created': '2026-01-01T00:00:00Z',
    'config': {'Cmd': ['cat', '/who'], 'Env': ['PATH=/bin:/usr/bin']},
    'rootfs': {'type': 'layers', 'diff_ids': diff_ids},
    'history': [{'created': '2026-01-01T00:00:00Z'} for _ in layers],
}).encode()
cfg_name = hashlib.sha256(cfg).hexdigest() + '.json'
with tarfile.open(out, 'w', format=tarfile.USTAR_FORMAT) as t:
    def add(name, data):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    paths = []
    for d, l in zip(diff_ids, layers):
        p = d[7:] + '/layer.tar'
        add(p, l)
        paths.append(p)
    add(cfg_name, cfg)
    add('manifest.json', json.dumps([{'Config': cfg_name, 'RepoTags': ['deep/img:200'], 'Layers': paths}]).encode())
PY
  run docker load -i "$tar"
  [ "$status" -eq 0 ]
  [[ $output == *"Loaded image: deep/img:200"* ]]
  run docker image inspect -f '{{len .RootFS.Layers}}' deep/img:200
  [ "$output" = 200 ]
  # the classic option string would not fit in one page
  local data_root len
  data_root=$(docker info -f '{{.DockerRootDir}}')
  len=$(( 200 * (${#data_root} + 80) ))
  [ "$len" -gt 4096 ]
  run docker run --rm deep/img:200
  [ "$status" -eq 0 ]
  [ "$output" = 199 ]
  run docker run --rm deep/img:200 sh -c 'cat /layer1 /layer100 /layer199; ls /bin/busybox'
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '1\n100\n199\n/bin/busybox')" ]
  # writes go to the container's own layer; a stopped container restarts
  docker run --name deep-c deep/img:200 sh -c 'echo w > /layer5' >/dev/null
  run docker start -a deep-c
  [ "$status" -eq 0 ]
  run docker cp deep-c:/layer5 -
  [ "$status" -eq 0 ]
  [[ $output == *w* ]]
  docker rm deep-c >/dev/null
}

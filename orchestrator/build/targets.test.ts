/** ABI -> make target, and reading the build hash back from `make -n` output (captured from the real Makefile). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBuildRecipe, targetForAbi } from './targets.ts';

const MAKE_DRY_RUN = `make: Entering directory '/work/main/device-agent'
mkdir -p build/host
cc -O3 -std=gnu11 -Wall -Wextra -Wno-unused-parameter -pthread -Isrc -march=native \\
  -DPL_ABI='"host"' -DPL_BUILD_HASH='"af99168716db1897"' \\
  -DPL_COMPILER='"cc (Debian 12.2.0-14+deb12u1) 12.2.0"' -DPL_CFLAGS='"-O3 -std=gnu11 -Wall -Wextra -Wno-unused-parameter -pthread -Isrc -march=native"' \\
  -o build/host/prunelab-agent src/json.c src/layer.c src/rng.c src/selftest.c -lm
make: Leaving directory '/work/main/device-agent'
`;

test('the build hash, compiler and flags are read from the compile command', () => {
  assert.deepEqual(parseBuildRecipe(MAKE_DRY_RUN), {
    hash: 'af99168716db1897',
    compiler: 'cc (Debian 12.2.0-14+deb12u1) 12.2.0',
    flags: '-O3 -std=gnu11 -Wall -Wextra -Wno-unused-parameter -pthread -Isrc -march=native',
  });
  assert.equal(parseBuildRecipe('make: Nothing to be done for host.'), undefined);
});

test('arm64 builds with the NDK when ANDROID_NDK_HOME is set, else with the Debian cross compiler', () => {
  assert.equal(targetForAbi('host', {})?.makeTarget, 'host');
  assert.equal(targetForAbi('arm64-v8a', {})?.makeTarget, 'arm64');
  assert.equal(targetForAbi('arm64-v8a', { ANDROID_NDK_HOME: '' })?.makeTarget, 'arm64');
  assert.deepEqual(targetForAbi('arm64-v8a', { ANDROID_NDK_HOME: '/opt/ndk' }), {
    abi: 'arm64-v8a',
    makeTarget: 'ndk',
    binaryPath: 'build/android-arm64-v8a/prunelab-agent',
  });
  assert.equal(targetForAbi('mips', {}), undefined);
});

// Reliability under bad input and faults (issue 11): a failure on one rank ends every rank with
// one line and exit status 1 (no hang: every run here is bounded by a short timeout), sizes are
// checked before allocation, write failures leave nothing under the final name and can be
// recovered, and a second writer of an output is refused.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "e2e_util.hpp"
#include "rgflow/core/hdf5.hpp"

namespace rgflow::e2e {
namespace {

// No hang: a run that has not ended by then is killed and reported as status 124.
constexpr int kTimeoutSeconds = 120;

// `mpiexec -n ranks rgflow arguments` with extra environment (e.g. "RGFLOW_INJECT_FAILURE=x@1"),
// bounded by the short timeout above.
RunResult run_with(const std::string& environment, int ranks, const std::string& arguments) {
  return run_rgflow(ranks, arguments, environment, kTimeoutSeconds);
}

constexpr const char* kSmallData = "-quiet -d 2 -L 16 -b 2 -levels 2 -samples 8";
constexpr const char* kSmallTrain = "-quiet -hidden 4 -epochs 1 -batch 16";

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {0};
  gethostname(name, sizeof name - 1);
  return name;
}

// A process id no process has: larger than the kernel's maximum.
long dead_pid() {
  long max = 4194304;
  std::ifstream("/proc/sys/kernel/pid_max") >> max;
  return max + 1;
}

// ---------------------------------------------------------------------------------------------
// Hangs: a check or failure seen by one rank only.

TEST(Hang, ResumeOnAGarbageOutputEndsEveryRank) {
  TempFolder folder;
  const std::string data = folder.file("good.h5"), output = folder.file("o.h5");
  ASSERT_EQ(run_rgflow(2, std::string("generate ") + kSmallData + " -o " + data).status, 0);
  for (int ranks : {1, 2}) {
    write_text(output, "precious\n");
    expect_one_line_failure(
        run_with("", ranks, "train -data " + data + " " + kSmallTrain + " -resume -o " + output),
        "the existing output '" + output + "' is not a model rgflow can read",
        "train, " + std::to_string(ranks) + " rank(s)");
    EXPECT_EQ(slurp(output), "precious\n");
    expect_one_line_failure(
        run_with("", ranks, std::string("generate ") + kSmallData + " -resume -o " + output),
        "the existing output '" + output + "' is not a dataset rgflow can read",
        "generate, " + std::to_string(ranks) + " rank(s)");
    EXPECT_EQ(slurp(output), "precious\n");
    EXPECT_FALSE(file_exists(output + ".lock"));
  }
}

constexpr const char* kPipeline =
    "generate:\n"
    "  fine: {d: 2, L: 16, levels: 2, samples: 16, distribution: uniform, seed: 3}\n"
    "train:\n"
    "  defaults: {data: fine, epochs: 1, batch: 16}\n"
    "  small: {hidden: [4], activation: tanh}\n";

TEST(Hang, RerunningAPipelineAfterAnOutputWasReplacedByGarbage) {
  TempFolder folder;
  const std::string pipeline = folder.file("p.yaml"), outdir = folder.file("out");
  write_text(pipeline, kPipeline);
  const std::string command = "run " + pipeline + " -outdir " + outdir + " -quiet";
  ASSERT_EQ(run_with("", 2, command).status, 0);
  for (const std::string& output : {outdir + "/models/small.h5", outdir + "/data/fine.h5"}) {
    write_text(output, "garbage");
    expect_one_line_failure(run_with("", 2, command), "'" + output + "' is not a", output);
    EXPECT_EQ(slurp(output), "garbage");
  }
  EXPECT_FALSE(file_exists(outdir + "/.rgflow-run.lock"));
}

// ---------------------------------------------------------------------------------------------
// Injected failures: one rank fails at a named phase; every rank ends with the same line.

void expect_injected_failure(const std::string& phase, int rank, const std::string& arguments,
                             const std::string& final_output) {
  const auto result =
      run_with("RGFLOW_INJECT_FAILURE='" + phase + "@" + std::to_string(rank) + "'", 2, arguments);
  expect_one_line_failure(
      result, "injected failure in " + phase + " on rank " + std::to_string(rank), phase);
  EXPECT_FALSE(file_exists(final_output)) << phase;
  EXPECT_FALSE(file_exists(final_output + ".lock")) << phase;
  EXPECT_FALSE(file_exists(final_output + ".tmp")) << phase;
  EXPECT_FALSE(file_exists(final_output + ".partial.tmp")) << phase;
}

TEST(InjectedFailure, EveryPhaseOfGenerate) {
  for (const std::string phase :
       {"generate: open", "generate: compute", "generate: write", "generate: finish"}) {
    TempFolder folder;
    const std::string output = folder.file("out.h5");
    expect_injected_failure(phase, 1, std::string("generate ") + kSmallData + " -o " + output,
                            output);
    // The partial output is what -resume continues: it recovers, with the same file as a
    // fresh run.
    const auto resumed =
        run_with("", 2, std::string("generate ") + kSmallData + " -resume -o " + output);
    ASSERT_EQ(resumed.status, 0) << phase << "\n" << resumed.err;
    ASSERT_EQ(
        run_with("", 1, std::string("generate ") + kSmallData + " -o " + folder.file("fresh.h5"))
            .status,
        0);
    EXPECT_TRUE(same_fields(output, folder.file("fresh.h5"))) << phase;
  }
  // On a complete output: the check that compares it with the options.
  TempFolder folder;
  const std::string output = folder.file("out.h5");
  ASSERT_EQ(run_with("", 2, std::string("generate ") + kSmallData + " -o " + output).status, 0);
  const auto result = run_with("RGFLOW_INJECT_FAILURE='generate: check existing output@1'", 2,
                               std::string("generate ") + kSmallData + " -resume -o " + output);
  expect_one_line_failure(result, "injected failure in generate: check existing output",
                          "check existing output");
  EXPECT_FALSE(file_exists(output + ".lock"));
}

TEST(InjectedFailure, EveryPhaseOfTrain) {
  TempFolder folder;
  const std::string data = folder.file("data.h5");
  ASSERT_EQ(run_with("", 2, std::string("generate ") + kSmallData + " -o " + data).status, 0);
  const std::string train = "train -data " + data + " " + kSmallTrain + " -checkpoint_every 1 ";
  for (const std::string phase : {"train: load", "train: save"}) {
    const std::string output = folder.file(phase.substr(7) + ".h5");
    expect_injected_failure(phase, 1, train + "-o " + output, output);
  }
  // The write of the file itself fails on rank 0 (the writer): no temporary is left either.
  {
    const std::string output = folder.file("write.h5");
    expect_injected_failure("train: write file", 0, train + "-o " + output, output);
  }
  // Resuming from a checkpoint: an interrupted run first.
  const std::string output = folder.file("resumed.h5");
  const auto interrupted = run_with("", 2, train + "-test_stop_after_steps 1 -o " + output);
  ASSERT_TRUE(file_exists(output + ".partial")) << interrupted.err;
  expect_injected_failure("train: resume", 1, train + "-resume -o " + output, output);
  EXPECT_TRUE(file_exists(output + ".partial")) << "the checkpoint is kept";
  ASSERT_EQ(run_with("", 2, train + "-resume -o " + output).status, 0);
  const auto check = run_with("RGFLOW_INJECT_FAILURE='train: check existing output@1'", 2,
                              train + "-resume -o " + output);
  expect_one_line_failure(check, "injected failure in train: check existing output", "check");
  EXPECT_TRUE(file_exists(output));
}

TEST(InjectedFailure, EveryPhaseOfRun) {
  for (const std::string phase :
       {"run: read pipeline", "run: folders", "run: lock", "run: check inputs", "generate: open",
        "generate: compute", "generate: write", "generate: finish", "train: load", "train: save"}) {
    TempFolder folder;
    const std::string pipeline = folder.file("p.yaml"), outdir = folder.file("out");
    write_text(pipeline, kPipeline);
    const auto result = run_with("RGFLOW_INJECT_FAILURE='" + phase + "@1'", 2,
                                 "run " + pipeline + " -outdir " + outdir + " -quiet");
    expect_one_line_failure(result, "injected failure in " + phase + " on rank 1", phase);
    // The failing stage left nothing under its final name; stages before it are kept.
    const bool in_train = phase.rfind("train", 0) == 0;
    EXPECT_EQ(file_exists(outdir + "/data/fine.h5"), in_train) << phase;
    EXPECT_FALSE(file_exists(outdir + "/models/small.h5")) << phase;
    EXPECT_FALSE(file_exists(outdir + "/.rgflow-run.lock")) << phase;
    // Rerunning continues where it stopped.
    const auto rerun = run_with("", 2, "run " + pipeline + " -outdir " + outdir + " -quiet");
    EXPECT_EQ(rerun.status, 0) << phase << "\n" << rerun.err;
    EXPECT_TRUE(file_exists(outdir + "/models/small.h5")) << phase;
  }
}

// ---------------------------------------------------------------------------------------------
// Resource limits, checked before allocation.

TEST(ResourceLimit, ANetworkTooLargeIsRefusedBeforeAllocation) {
  TempFolder folder;
  const std::string data = folder.file("data.h5");
  ASSERT_EQ(run_with("", 2, std::string("generate ") + kSmallData + " -o " + data).status, 0);
  expect_one_line_failure(
      run_with("", 2, "train -data " + data + " -hidden 1048576,1048576 -o " + folder.file("m.h5")),
      "is too large", "hidden 1048576,1048576");
  // Fine alone, too large on this dataset's blocks of 4 sites: 4 x 2^20 x 2^10 weights.
  expect_one_line_failure(
      run_with("", 2, "train -data " + data + " -hidden 1048576,1024 -o " + folder.file("m.h5")),
      "limit of 4 GiB", "hidden 1048576,1024");
  EXPECT_FALSE(file_exists(folder.file("m.h5")));
}

// Replaces a fixed-length string attribute of an HDF5 object.
void set_text_attribute(const std::string& path, const std::string& object, const std::string& name,
                        const std::string& value) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t group = H5Oopen(file, object.c_str(), H5P_DEFAULT);
  H5Adelete(group, name.c_str());
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, value.size());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(group, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(H5Awrite(attribute, type, value.data()), 0);
  H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
  H5Oclose(group);
  H5Fclose(file);
}

TEST(ResourceLimit, AModelFileWhoseSizesDisagreeIsRefusedBeforeAllocation) {
  TempFolder folder;
  const std::string data = folder.file("data.h5"), output = folder.file("m.h5");
  ASSERT_EQ(run_with("", 2, std::string("generate ") + kSmallData + " -o " + data).status, 0);
  const std::string train =
      "train -data " + data + " " + kSmallTrain + " -checkpoint_every 1 -o " + output;
  run_with("", 1, train + " -test_stop_after_steps 1");  // ends as a crash would
  const std::string partial = output + ".partial";
  ASSERT_TRUE(file_exists(partial));
  // parameter_count stays 25 (4 inputs, hidden 4, one output: 4x4 + 4 + 4 + 1).
  set_text_attribute(partial, "/model", "hidden", "300,300");
  expect_one_line_failure(run_with("", 2, train + " -resume"),
                          "parameter_count is 25 but the architecture", "hidden 300,300");
  set_text_attribute(partial, "/model", "hidden", "40000,40000");
  expect_one_line_failure(run_with("", 2, train + " -resume"), "is too large",
                          "hidden 40000,40000");
  EXPECT_FALSE(file_exists(output));
}

// Replaces an int64 attribute of the file's root group.
void set_int_attribute(const std::string& path, const std::string& name, int64_t value) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  H5Adelete(file, name.c_str());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute =
      H5Acreate2(file, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(H5Awrite(attribute, H5T_NATIVE_INT64, &value), 0);
  H5Aclose(attribute);
  H5Sclose(space);
  H5Fclose(file);
}

TEST(ResourceLimit, ADatasetBeyondTheIndexRangeIsRefusedByEveryReadingStage) {
  // A dataset whose attributes declare 8 samples of 4194304^3 sites (2^69 values per level, beyond
  // the 2^58 rgflow indexes): analyze, train and info refuse it in one line before any work.
  TempFolder folder;
  const std::string data = folder.file("data.h5");
  ASSERT_EQ(run_with("", 2, std::string("generate ") + kSmallData + " -o " + data).status, 0);
  set_int_attribute(data, "d", 3);
  set_int_attribute(data, "L", 4194304);
  const std::string expected = "n_samples x L^d = 8 x 4194304^3 is too large";
  const std::string results = folder.file("r.h5"), model = folder.file("m.h5");
  expect_one_line_failure(
      run_with("", 2, "analyze -quiet -groups 2 -data " + data + " -o " + results), expected,
      "analyze");
  expect_one_line_failure(
      run_with("", 2, "train -data " + data + " " + kSmallTrain + " -o " + model), expected,
      "train");
  expect_one_line_failure(run_with("", 2, "info -data " + data), expected, "info");
  EXPECT_FALSE(file_exists(results));
  EXPECT_FALSE(file_exists(results + ".partial"));
  EXPECT_FALSE(file_exists(model));
  EXPECT_FALSE(file_exists(model + ".partial"));
}

TEST(ResourceLimit, PipelineAliasesCannotExpandWithoutBound) {
  TempFolder folder;
  const std::string outdir = folder.file("out");
  // 466 KB of file that stood for 6.5 GB: a 64 KiB value repeated by aliases.
  std::string text =
      std::string(kPipeline) + "  bomb: {hidden: [&w \"" + std::string(65536, '7') + "\"";
  for (int k = 0; k < 6000; ++k) text += ", *w";
  text += "]}\n";
  write_text(folder.file("bomb.yaml"), text);
  expect_one_line_failure(
      run_with("", 2, "run " + folder.file("bomb.yaml") + " -outdir " + outdir + " -quiet"),
      "longer than 4095 characters", "64 KiB alias");
  // Many short aliases: a bounded number of uses.
  text = "generate:\n  a: {L: &v 16}\n";
  for (int k = 0; k < 10001; ++k) text += "  d" + std::to_string(k) + ": {L: *v}\n";
  write_text(folder.file("many.yaml"), text);
  expect_one_line_failure(
      run_with("", 1, "run " + folder.file("many.yaml") + " -outdir " + outdir + " -quiet"),
      "uses of YAML aliases", "many aliases");
  EXPECT_FALSE(file_exists(outdir));
}

TEST(ResourceLimit, OptionsFilesAreCheckedBeforePetscReadsThem) {
  TempFolder folder;
  const std::string output = folder.file("out.h5");
  expect_one_line_failure(
      run_with("", 2, "generate -options_file_yaml " + folder.file("no.yaml") + " -o " + output),
      "'" + folder.file("no.yaml") + "' does not exist", "missing yaml");
  write_text(folder.file("bad.yaml"), "L: [16\nd: 2\n");
  expect_one_line_failure(
      run_with("", 2, "generate -options_file_yaml " + folder.file("bad.yaml") + " -o " + output),
      "is malformed YAML at line", "malformed yaml");
  write_text(folder.file("list.yaml"), "- 16\n- 2\n");
  expect_one_line_failure(
      run_with("", 2, "generate -options_file_yaml " + folder.file("list.yaml") + " -o " + output),
      "is not a mapping", "yaml list");
  expect_one_line_failure(
      run_with("", 2, "generate -options_file " + folder.file("none.txt") + " -o " + output),
      "does not exist", "missing options file");
  EXPECT_FALSE(file_exists(output));
  // A good one works.
  write_text(folder.file("good.yaml"), "L: 16\nlevels: 2\nsamples: 4\nquiet: true\n");
  const auto good =
      run_with("", 2, "generate -options_file_yaml " + folder.file("good.yaml") + " -o " + output);
  EXPECT_EQ(good.status, 0) << good.err;
}

// A small tmpfs mounted for the test (root only; skipped where mounting is not allowed).
class SmallDisk {
 public:
  explicit SmallDisk(const std::string& path, const std::string& size) : path_(path) {
    mkdir(path.c_str(), 0755);
    mounted_ = mount("tmpfs", path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  bool grow(const std::string& size) {
    return mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()) == 0;
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST(ResourceLimit, ADiskFullWhileGeneratingIsACleanErrorAndResumeRecovers) {
  TempFolder folder;
  SmallDisk disk(folder.file("disk"), "512k");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  // 64 samples of 64x64 float32 and two coarser levels: 1.3 MB, more than the disk holds.
  const std::string options = "-quiet -d 2 -L 64 -b 2 -levels 2 -samples 64 -seed 5";
  const std::string output = folder.file("disk/out.h5");
  const auto full = run_with("", 2, "generate " + std::string(options) + " -o " + output);
  expect_one_line_failure(full, "failed", "disk full");
  if (!full.rgflow_error_lines().empty()) {
    EXPECT_NE(full.rgflow_error_lines()[0].find("-resume"), std::string::npos)
        << "the message says how to recover";
  }
  EXPECT_FALSE(file_exists(output));
  EXPECT_FALSE(file_exists(output + ".lock"));
  ASSERT_TRUE(disk.grow("8m"));
  const auto resumed =
      run_with("", 2, "generate " + std::string(options) + " -resume -o " + output);
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  const std::string reference = folder.file("reference.h5");
  ASSERT_EQ(run_with("", 1, "generate " + std::string(options) + " -o " + reference).status, 0);
  EXPECT_TRUE(same_fields(output, reference));
  // A disk too small for the file's first flush: the creation fails, as cleanly.
  SmallDisk tiny(folder.file("tiny"), "16k");
  ASSERT_TRUE(tiny.mounted());
  const std::string small_output = folder.file("tiny/out.h5");
  expect_one_line_failure(run_with("", 2, "generate " + options + " -o " + small_output), "failed",
                          "disk full at creation");
  EXPECT_FALSE(file_exists(small_output));
  EXPECT_FALSE(file_exists(small_output + ".lock"));
  // The same with the lattice split over both ranks (collective writes), then resumed.
  SmallDisk shared(folder.file("shared"), "512k");
  ASSERT_TRUE(shared.mounted());
  const std::string split = options + " -lattice_ranks 2";
  const std::string split_output = folder.file("shared/out.h5");
  expect_one_line_failure(run_with("", 2, "generate " + split + " -o " + split_output), "failed",
                          "disk full, collective writes");
  EXPECT_FALSE(file_exists(split_output));
  ASSERT_TRUE(shared.grow("8m"));
  ASSERT_EQ(run_with("", 2, "generate " + split + " -resume -o " + split_output).status, 0);
  EXPECT_TRUE(same_fields(split_output, reference));
}

// generate -extend needs room for the grown file beside the old one: checked before anything is
// written (as for a new file), so a disk too small ends every rank with one line and leaves the
// original as it was; with room, rerunning continues.
TEST(ResourceLimit, AnExtensionWithoutRoomIsACleanErrorAndTheOriginalStays) {
  TempFolder folder;
  SmallDisk disk(folder.file("disk"), "2m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  // 16 samples of 64x64 float32 and two coarser levels: 0.34 MB; 64 samples: 1.4 MB (the check
  // of room asks for 1 MiB more, for metadata).
  const std::string options = "generate -quiet -d 2 -L 64 -b 2 -levels 2 -seed 5";
  const std::string output = folder.file("disk/out.h5");
  ASSERT_EQ(run_with("", 2, options + " -samples 16 -o " + output).status, 0);
  const std::string before = slurp(output);
  expect_one_line_failure(run_with("", 2, options + " -extend 64 -o " + output),
                          "No space left on device", "extension without room");
  EXPECT_EQ(slurp(output), before);
  EXPECT_FALSE(file_exists(output + ".partial"));
  EXPECT_FALSE(file_exists(output + ".lock"));
  ASSERT_TRUE(disk.grow("8m"));
  const auto extended = run_with("", 2, options + " -extend 64 -resume -o " + output);
  ASSERT_EQ(extended.status, 0) << extended.err;
  const std::string reference = folder.file("reference.h5");
  ASSERT_EQ(run_with("", 1, options + " -samples 64 -o " + reference).status, 0);
  EXPECT_TRUE(same_fields(output, reference));
}

// A nearly full disk while train writes its model (issue 11): the model file is built in memory
// and its room reserved before any byte is written, so the run ends with one line on every rank,
// not with a crash of HDF5's clean-up at exit (it used to end with signal 11, status 139, after
// the message). The final write and a checkpoint write, each then recovered.
TEST(ResourceLimit, ADiskFullWhileTrainingWritesTheModelIsACleanErrorAndRecovers) {
  TempFolder folder;
  const std::string data = folder.file("data.h5");
  ASSERT_EQ(run_with("", 2, std::string("generate ") + kSmallData + " -o " + data).status, 0);
  // Hidden 64,64: a model file of about 200 KB (parameters, layer weights, optimiser moments,
  // the coordinates that name their axes).
  const std::string train =
      "train -quiet -data " + data + " -hidden 64,64 -epochs 2 -batch 16 -checkpoint_every 8 ";
  const std::string reference = folder.file("reference.h5");
  ASSERT_EQ(run_with("", 2, train + "-o " + reference).status, 0);
  const auto reference_parameters = table(reference, "/model/parameters");
  auto expect_nothing_left = [](const std::string& output, const std::string& what) {
    EXPECT_FALSE(file_exists(output)) << what;
    EXPECT_FALSE(file_exists(output + ".tmp")) << what;
    EXPECT_FALSE(file_exists(output + ".partial.tmp")) << what;
    EXPECT_FALSE(file_exists(output + ".lock")) << what;
  };
  {
    // Less room than one file: the first checkpoint fails, on 1 rank and on 2.
    SmallDisk disk(folder.file("disk"), "64k");
    if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
    const std::string output = folder.file("disk/m.h5");
    for (int ranks : {1, 2}) {
      const auto full = run_with("", ranks, train + "-o " + output);
      const std::string what = "disk full, " + std::to_string(ranks) + " rank(s)";
      expect_one_line_failure(full, "No space left on device", what);
      EXPECT_NE(full.status, 139) << what;
      if (!full.rgflow_error_lines().empty()) {
        const std::string line = full.rgflow_error_lines()[0];
        EXPECT_NE(line.find("nothing was written under '" + output + "'"), std::string::npos)
            << line;
        EXPECT_NE(line.find("-resume"), std::string::npos) << line;
      }
      expect_nothing_left(output, what);
      EXPECT_FALSE(file_exists(output + ".partial")) << what;
    }
    // Without checkpoints the final write is the only one: it fails as cleanly.
    const auto final_write = run_with(
        "", 2, "train -quiet -data " + data + " -hidden 64,64 -epochs 1 -batch 16 -o " + output);
    expect_one_line_failure(final_write, "No space left on device", "final write");
    expect_nothing_left(output, "final write");
    // With room, -force starts over and gives the uninterrupted run's model.
    ASSERT_TRUE(disk.grow("4m"));
    const auto forced = run_with("", 2, train + "-force -o " + output);
    ASSERT_EQ(forced.status, 0) << forced.err;
    EXPECT_EQ(table(output, "/model/parameters"), reference_parameters);
  }
  {
    // Room for one file but not two: the first checkpoint is written, the next one (its
    // temporary beside the previous checkpoint) fails; the previous checkpoint is kept and
    // -resume continues it to the same model as an uninterrupted run.
    SmallDisk disk(folder.file("half"), "300k");
    ASSERT_TRUE(disk.mounted());
    const std::string output = folder.file("half/m.h5");
    const auto full = run_with("", 2, train + "-o " + output);
    expect_one_line_failure(full, "No space left on device", "second checkpoint");
    expect_nothing_left(output, "second checkpoint");
    ASSERT_TRUE(file_exists(output + ".partial")) << "the first checkpoint is kept";
    const auto still_full = run_with("", 2, train + "-resume -o " + output);
    expect_one_line_failure(still_full, "No space left on device", "resumed, still full");
    ASSERT_TRUE(file_exists(output + ".partial"));
    ASSERT_TRUE(disk.grow("4m"));
    const auto resumed = run_with("", 2, train + "-resume -o " + output);
    ASSERT_EQ(resumed.status, 0) << resumed.err;
    EXPECT_EQ(table(output, "/model/parameters"), reference_parameters);
    EXPECT_FALSE(file_exists(output + ".partial"));
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs accepted before that must be refused.

TEST(Refused, StrayWordsLongValuesFoldersAndMissingPipelineInputs) {
  TempFolder folder;
  const std::string data = folder.file("data.h5");
  ASSERT_EQ(run_with("", 2, std::string("generate ") + kSmallData + " -o " + data).status, 0);
  expect_one_line_failure(run_with("", 2, "generate foo -o " + folder.file("x.h5")),
                          "unexpected argument 'foo'", "generate foo");
  expect_one_line_failure(run_with("", 2, "train foo -data " + data), "unexpected argument 'foo'",
                          "train foo");
  expect_one_line_failure(run_with("", 2, "generate -o " + folder.file("x.h5") + " -L 16 bar"),
                          "unexpected argument 'bar'", "trailing word");
  EXPECT_FALSE(file_exists(folder.file("x.h5")));
  // 5000 characters: refused, not cut to 4095.
  expect_one_line_failure(run_with("", 2,
                                   "generate -o " + folder.file(std::string(200, 'a')) +
                                       " -distribution " + std::string(5000, 'u')),
                          "longer than 4095 characters", "long value");
  // A folder as the output: refused before training, nothing left beside it.
  const std::string dir = folder.file("DIR");
  mkdir(dir.c_str(), 0755);
  expect_one_line_failure(
      run_with("", 2, "train -data " + data + " " + kSmallTrain + " -force -o " + dir),
      "is a folder", "output folder");
  EXPECT_FALSE(file_exists(dir + ".tmp"));
  EXPECT_FALSE(file_exists(dir + ".partial"));
  // A leftover partial file of a stage without -resume: the message does not suggest it.
  const std::string results = folder.file("r.h5");
  write_text(results + ".partial", "interrupted");
  const auto analyze = run_with("", 2, "analyze -quiet -groups 4 -data " + data + " -o " + results);
  expect_one_line_failure(analyze, "use -force to start over", "analyze partial");
  if (!analyze.rgflow_error_lines().empty()) {
    EXPECT_EQ(analyze.rgflow_error_lines()[0].find("-resume"), std::string::npos);
  }
  // A pipeline whose model or analysis reads a missing file: refused before any stage runs.
  const std::string outdir = folder.file("out");
  write_text(folder.file("m.yaml"),
             std::string(kPipeline) + "  other: {data: " + folder.file("absent.h5") + "}\n");
  expect_one_line_failure(
      run_with("", 2, "run " + folder.file("m.yaml") + " -outdir " + outdir + " -quiet"),
      "model 'other' reads '" + folder.file("absent.h5") + "', which does not exist",
      "missing model data");
  write_text(folder.file("a.yaml"),
             std::string(kPipeline) + "analyze: {eval_data: [" + folder.file("gone.h5") + "]}\n");
  expect_one_line_failure(
      run_with("", 2, "run " + folder.file("a.yaml") + " -outdir " + outdir + " -quiet"),
      "the analysis reads '" + folder.file("gone.h5") + "', which does not exist",
      "missing analysis input");
  EXPECT_FALSE(file_exists(outdir + "/data/fine.h5")) << "no stage ran";
}

// ---------------------------------------------------------------------------------------------
// Concurrent writers.

TEST(ConcurrentWriters, ASecondWriterIsRefusedWhileTheFirstHoldsTheLock) {
  TempFolder folder;
  const std::string data = folder.file("data.h5");
  ASSERT_EQ(run_with("", 2, std::string("generate ") + kSmallData + " -o " + data).status, 0);
  // A live holder: this test process, on this host.
  const std::string claim = host_name() + " " + std::to_string(getpid()) + "\n";
  const std::string output = folder.file("out.h5");
  write_text(output + ".lock", claim);
  expect_one_line_failure(
      run_with("", 2, std::string("generate ") + kSmallData + " -force -o " + output),
      "is being written by process " + std::to_string(getpid()), "generate");
  expect_one_line_failure(
      run_with("", 2, "train -data " + data + " " + kSmallTrain + " -force -o " + output),
      "is being written by process", "train");
  expect_one_line_failure(
      run_with("", 2, "analyze -quiet -groups 4 -force -data " + data + " -o " + output),
      "is being written by process", "analyze");
  EXPECT_EQ(slurp(output + ".lock"), claim) << "the holder's lock is untouched";
  EXPECT_FALSE(file_exists(output));
  // A holder on another host cannot be checked: refused too.
  write_text(output + ".lock", "some-other-node 12\n");
  expect_one_line_failure(
      run_with("", 2, std::string("generate ") + kSmallData + " -force -o " + output),
      "on host some-other-node", "other host");
  // The pipeline's folder.
  const std::string pipeline = folder.file("p.yaml"), outdir = folder.file("run");
  write_text(pipeline, kPipeline);
  mkdir(outdir.c_str(), 0755);
  write_text(outdir + "/.rgflow-run.lock", claim);
  expect_one_line_failure(run_with("", 2, "run " + pipeline + " -outdir " + outdir + " -quiet"),
                          "the pipeline folder '" + outdir + "' is being written", "run");
  expect_one_line_failure(
      run_with("", 2,
               "run " + pipeline + " -outdir " + outdir + " -quiet -stage train -model small"),
      "is being written", "run, one model");
  EXPECT_FALSE(file_exists(outdir + "/data/fine.h5"));
}

TEST(ConcurrentWriters, AStaleLockOfAnEndedProcessIsTakenOver) {
  TempFolder folder;
  const std::string output = folder.file("out.h5");
  write_text(output + ".lock", host_name() + " " + std::to_string(dead_pid()) + "\n");
  const auto result = run_with("", 2, std::string("generate ") + kSmallData + " -o " + output);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.err.find("taking over the lock"), std::string::npos) << result.err;
  EXPECT_TRUE(file_exists(output));
  EXPECT_FALSE(file_exists(output + ".lock"));
  // The same for a pipeline folder.
  const std::string pipeline = folder.file("p.yaml"), outdir = folder.file("run");
  write_text(pipeline, kPipeline);
  mkdir(outdir.c_str(), 0755);
  write_text(outdir + "/.rgflow-run.lock", host_name() + " " + std::to_string(dead_pid()) + "\n");
  const auto run = run_with("", 2, "run " + pipeline + " -outdir " + outdir + " -quiet");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_FALSE(file_exists(outdir + "/.rgflow-run.lock"));
}

TEST(ConcurrentWriters, ALockOfAnotherHostIsNeverTakenOver) {
  TempFolder folder;
  const std::string data = folder.file("data.h5");
  ASSERT_EQ(run_with("", 2, std::string("generate ") + kSmallData + " -o " + data).status, 0);
  // A process id no process here has: on this host the lock would be stale and taken over.
  const std::string host = "elsewhere-" + host_name();
  const std::string pid = std::to_string(dead_pid());
  const std::string claim = host + " " + pid + "\n";
  const std::string output = folder.file("out.h5"), lock = output + ".lock";
  write_text(lock, claim);
  const std::string expected = "is being written by process " + pid + " on host " + host;
  for (const std::string& command :
       {std::string("generate ") + kSmallData + " -force -o " + output,
        "train -data " + data + " " + kSmallTrain + " -force -o " + output,
        "analyze -quiet -groups 4 -force -data " + data + " -o " + output}) {
    const auto result = run_with("", 2, command);
    expect_one_line_failure(result, expected, command);
    if (!result.rgflow_error_lines().empty()) {
      EXPECT_NE(result.rgflow_error_lines()[0].find("if you are sure that job has ended, remove "
                                                    "the lock: rm '" +
                                                    lock + "'"),
                std::string::npos)
          << result.rgflow_error_lines()[0];
    }
    EXPECT_EQ(result.err.find("taking over"), std::string::npos) << result.err;
    EXPECT_EQ(slurp(lock), claim) << "the other host's lock is untouched";
    EXPECT_FALSE(file_exists(output));
  }
  // The pipeline folder's lock, for a whole run and for one model of it.
  const std::string pipeline = folder.file("p.yaml"), outdir = folder.file("run");
  write_text(pipeline, kPipeline);
  mkdir(outdir.c_str(), 0755);
  write_text(outdir + "/.rgflow-run.lock", claim);
  for (const std::string& extra : {std::string(""), std::string(" -stage train -model small")}) {
    expect_one_line_failure(
        run_with("", 2, "run " + pipeline + " -outdir " + outdir + " -quiet" + extra), expected,
        "run" + extra);
    EXPECT_EQ(slurp(outdir + "/.rgflow-run.lock"), claim);
  }
  EXPECT_FALSE(file_exists(outdir + "/data/fine.h5"));
  // Once the user removes it, as the message says, the same command runs.
  std::remove(lock.c_str());
  const auto freed = run_with("", 2, std::string("generate ") + kSmallData + " -o " + output);
  EXPECT_EQ(freed.status, 0) << freed.err;
  EXPECT_TRUE(file_exists(output));
}

TEST(ConcurrentWriters, TwoGeneratesOnTheSameOutputNeverMixTheirSamples) {
  TempFolder folder;
  const std::string options = "-quiet -d 2 -L 64 -b 2 -levels 3 -samples 48 -chunk_mb 1";
  const std::string first = folder.file("seed1.h5"), second = folder.file("seed2.h5");
  ASSERT_EQ(run_with("", 1, "generate " + options + " -seed 1 -o " + first).status, 0);
  ASSERT_EQ(run_with("", 1, "generate " + options + " -seed 2 -o " + second).status, 0);
  const std::string output = folder.file("out.h5");
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::remove(output.c_str());
    // Both started together, each with -force: one is refused, or they run one after the other.
    const std::string one = "env " + rgflow_sanitizer_environment() + RGFLOW_MPIEXEC +
                            " --oversubscribe -n 1 " + RGFLOW_EXE + " generate " + options +
                            " -force -o " + output;
    const std::string bound = "timeout " + std::to_string(120 * timeout_scale()) + " ";
    const std::string command = "cd " + folder.path() + " && (" + bound + one +
                                " -seed 1 > a.out 2> a.err & " + bound + one +
                                " -seed 2 > b.out 2> b.err & wait)";
    ASSERT_EQ(std::system(command.c_str()), 0);
    const std::string errors = slurp(folder.file("a.err")) + slurp(folder.file("b.err"));
    ASSERT_TRUE(file_exists(output)) << errors;
    EXPECT_TRUE(same_fields(output, first) || same_fields(output, second))
        << "attempt " << attempt << ": the output mixes both runs\n"
        << errors;
    EXPECT_FALSE(file_exists(output + ".lock"));
    if (!errors.empty()) {
      EXPECT_NE(errors.find("is being written by process"), std::string::npos) << errors;
    }
  }
}

}  // namespace
}  // namespace rgflow::e2e

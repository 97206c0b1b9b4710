// The output lock of io::prepare_output: taken on rank 0 with this process's claim, kept until
// commit_output, refused while another live process holds it, taken over from an ended one on this
// host, never from one on another host.
#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "../test_text.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/io/atomic_file.hpp"

namespace rgflow::io {
namespace {

using tests::slurp;

std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {0};
  gethostname(name, sizeof name - 1);
  return name;
}

TEST(OutputLock, HeldFromPrepareUntilCommitWithRankZerosClaim) {
  const Comm world(MPI_COMM_WORLD);
  std::string path;
  if (world.rank() == 0) path = "/tmp/rgflow_mpi_lock_" + std::to_string(getpid()) + ".h5";
  path = world.broadcast(path);
  const std::string claim = world.broadcast(this_host() + " " + std::to_string(getpid()) + "\n");
  EXPECT_EQ(prepare_output(world, path, "-o", false, false), OutputState::kFresh);
  if (world.rank() == 0) {
    EXPECT_EQ(slurp(lock_path(path)), claim);
    std::fclose(std::fopen(partial_path(path).c_str(), "w"));
  }
  commit_output(world, path);
  if (world.rank() == 0) {
    EXPECT_FALSE(std::ifstream(lock_path(path)).good()) << "released by the commit";
    EXPECT_TRUE(std::ifstream(path).good());
    std::remove(path.c_str());
  }
  world.barrier();
}

TEST(OutputLock, ALiveHolderIsRefusedAndKeepsItsLock) {
  const Comm world(MPI_COMM_WORLD);
  if (world.rank() != 0) return;  // local: FileLock is what rank 0 uses
  const std::string path = "/tmp/rgflow_mpi_lock_live_" + std::to_string(getpid());
  // The parent of this process is alive (mpiexec): its claim must be respected.
  const std::string other = this_host() + " " + std::to_string(getppid()) + "\n";
  { std::ofstream(path) << other; }
  FileLock lock;
  const std::string refused = FileLock::acquire(path, "output 'x'", &lock);
  EXPECT_NE(refused.find("is being written by process " + std::to_string(getppid())),
            std::string::npos)
      << refused;
  EXPECT_FALSE(lock.held());
  EXPECT_NE(FileLock::held_by_other(path, "output 'x'"), "");
  lock.release();
  EXPECT_EQ(slurp(path), other) << "a refused acquire leaves the holder's lock alone";
  // An ended process on this host: taken over, and released by this process.
  { std::ofstream(path) << this_host() << " " << (1L << 30) << "\n"; }
  EXPECT_EQ(FileLock::held_by_other(path, "output 'x'"), "");
  EXPECT_EQ(FileLock::acquire(path, "output 'x'", &lock), "");
  EXPECT_TRUE(lock.held());
  EXPECT_EQ(slurp(path), this_host() + " " + std::to_string(getpid()) + "\n");
  lock.release();
  EXPECT_FALSE(std::ifstream(path).good());
  // Unreadable claims are not guessed at.
  { std::ofstream(path) << "garbage"; }
  EXPECT_NE(FileLock::acquire(path, "output 'x'", &lock).find("unreadable"), std::string::npos);
  std::remove(path.c_str());
}

// A claim made on another host: whether its process runs cannot be seen from here, so it is never
// taken over, even with a process id no process on this host has (one that would count as ended
// here) or this very process's id; the refusal names the host and the process and says how to
// remove the lock.
TEST(OutputLock, ALockOfAnotherHostIsNeverTakenOver) {
  const Comm world(MPI_COMM_WORLD);
  std::string path;
  if (world.rank() == 0) path = "/tmp/rgflow_mpi_lock_host_" + std::to_string(getpid()) + ".h5";
  path = world.broadcast(path);
  const std::string other_host = "node-" + this_host() + "-elsewhere";
  for (const long pid : {long{1} << 30, static_cast<long>(getpid())}) {
    const std::string claim = other_host + " " + std::to_string(pid) + "\n";
    if (world.rank() == 0) {
      { std::ofstream(lock_path(path)) << claim; }
      FileLock lock;
      const std::string refused = FileLock::acquire(lock_path(path), "output 'x'", &lock);
      EXPECT_NE(refused.find("process " + std::to_string(pid) + " on host " + other_host),
                std::string::npos)
          << refused;
      EXPECT_NE(refused.find("rm '" + lock_path(path) + "'"), std::string::npos) << refused;
      EXPECT_EQ(refused.find('\n'), std::string::npos) << "one line: " << refused;
      EXPECT_FALSE(lock.held());
      EXPECT_NE(FileLock::held_by_other(lock_path(path), "output 'x'"), "");
      EXPECT_EQ(slurp(lock_path(path)), claim) << "the other host's lock is untouched";
    }
    // Collective: every rank gets the same refusal, and no rank holds the lock after it.
    std::string message;
    try {
      prepare_output(world, path, "-o", true, false);
    } catch (const UsageError& error) {
      message = error.what();
    }
    EXPECT_NE(message.find("on host " + other_host), std::string::npos) << message;
    EXPECT_EQ(world.broadcast(message), message) << "the same message on every rank";
    if (world.rank() == 0) {
      EXPECT_EQ(slurp(lock_path(path)), claim);
    }
    world.barrier();
  }
  if (world.rank() == 0) std::remove(lock_path(path).c_str());
  world.barrier();
}

}  // namespace
}  // namespace rgflow::io

// The communicator layer's collectives: the vector sum and the agreement of local phases (a
// failure on one rank reaches every rank as the same UsageError, so nobody waits forever).
#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "rgflow/core/mpi.hpp"

namespace rgflow {
namespace {

TEST(Comm, VectorSumAddsEveryRanksSlots) {
  const Comm world(MPI_COMM_WORLD);
  const int size = world.size();
  std::vector<double> values(static_cast<size_t>(2 * size), 0.0);
  values[static_cast<size_t>(2 * world.rank())] = 1.0 + world.rank();
  values[static_cast<size_t>(2 * world.rank() + 1)] = 0.5;
  world.sum(values);
  for (int r = 0; r < size; ++r) {
    EXPECT_EQ(values[static_cast<size_t>(2 * r)], 1.0 + r);
    EXPECT_EQ(values[static_cast<size_t>(2 * r + 1)], 0.5);
  }
}

TEST(Comm, LocalPhaseSucceedsWhenNoRankThrows) {
  const Comm world(MPI_COMM_WORLD);
  int calls = 0;
  EXPECT_NO_THROW(world.local_phase("test: ok", [&] { ++calls; }));
  EXPECT_EQ(calls, 1);
}

TEST(Comm, LocalPhaseFailureOnTheLastRankReachesEveryRank) {
  const Comm world(MPI_COMM_WORLD);
  const int last = world.size() - 1;
  try {
    world.local_phase("test: one rank", [&] {
      if (world.rank() == last) throw std::runtime_error("bad value in sample 3");
    });
    FAIL() << "no rank threw";
  } catch (const UsageError& error) {
    EXPECT_EQ(std::string(error.what()), "bad value in sample 3");
  }
}

TEST(Comm, OnRootRunsOnRankZeroAloneAndItsFailureReachesEveryRankAsItsType) {
  const Comm world(MPI_COMM_WORLD);
  int runs = 0;
  world.on_root([&] { ++runs; });
  EXPECT_EQ(runs, world.rank() == 0 ? 1 : 0);
  try {
    world.on_root<LibraryError>([] { throw std::runtime_error("disk full"); });
    FAIL() << "no rank threw";
  } catch (const LibraryError& error) {
    EXPECT_EQ(std::string(error.what()), "disk full");
  }
  try {
    world.on_root([] { throw std::runtime_error("no such file"); });
    FAIL() << "no rank threw";
  } catch (const UsageError& error) {
    EXPECT_EQ(std::string(error.what()), "no such file");
  }
}

TEST(Comm, LowestFailingRanksMessageWins) {
  const Comm world(MPI_COMM_WORLD);
  try {
    world.local_phase("test: all ranks",
                      [&] { throw std::runtime_error("rank " + std::to_string(world.rank())); });
    FAIL() << "no rank threw";
  } catch (const UsageError& error) {
    EXPECT_EQ(std::string(error.what()), "rank 0");
  }
}

TEST(Comm, InjectedFailureOnOneRankEndsThePhaseEverywhere) {
  const Comm world(MPI_COMM_WORLD);
  const int target = world.size() - 1;
  const std::string wanted = "test: injected@" + std::to_string(target);
  setenv("RGFLOW_INJECT_FAILURE", wanted.c_str(), 1);
  int calls = 0;
  try {
    world.local_phase("test: injected", [&] { ++calls; });
    unsetenv("RGFLOW_INJECT_FAILURE");
    FAIL() << "the injected failure did not happen";
  } catch (const UsageError& error) {
    unsetenv("RGFLOW_INJECT_FAILURE");
    EXPECT_EQ(std::string(error.what()),
              "injected failure in test: injected on rank " + std::to_string(target));
  }
  // The failing rank stops before its work; the others did theirs.
  EXPECT_EQ(calls, world.rank() == target ? 0 : 1);
  // Another phase name is not affected.
  setenv("RGFLOW_INJECT_FAILURE", wanted.c_str(), 1);
  EXPECT_NO_THROW(world.local_phase("test: other", [] {}));
  unsetenv("RGFLOW_INJECT_FAILURE");
}

TEST(OneLine, ControlCharactersBecomeEscapes) {
  EXPECT_EQ(one_line("unknown option -L24\nd"), "unknown option -L24\\nd");
  EXPECT_EQ(one_line(std::string("a\tb\rc\x01") + char(0x7f)), "a\\tb\\x0dc\\x01\\x7f");
  // Every UsageError is one line, whatever user text it quotes.
  EXPECT_EQ(std::string(UsageError("option -L: '1\n2' is not an integer").what()),
            "option -L: '1\\n2' is not an integer");
  EXPECT_EQ(one_line("plain text, 'quoted' and UTF-8: \xc3\xa9"),
            "plain text, 'quoted' and UTF-8: \xc3\xa9");
}

}  // namespace
}  // namespace rgflow

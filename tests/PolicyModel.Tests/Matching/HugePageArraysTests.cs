using PolicyModel.Matching;

namespace PolicyModel.Tests.Matching;

public sealed class HugePageArraysTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(3_000_000)]
    public void Allocate_AnySize_ReturnsZeroedArrayOfThatLength(int length)
    {
        int[] array = HugePageArrays.Allocate<int>(length);

        Assert.Equal(length, array.Length);
        Assert.True(array.AsSpan().IndexOfAnyExcept(0) < 0);
    }
}
